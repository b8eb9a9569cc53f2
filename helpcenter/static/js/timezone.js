// Remember the visitor's time zone so dates are shown in their local time (the server falls
// back to the service's zone, and says so, when this cookie is absent or unknown). The zone is
// written as it is ("Atlantic/Canary": "/" is allowed in a cookie value); the server also
// decodes the percent-encoded form older versions of this script wrote.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\-\/]+$/.test(zone) && document.cookie.split("; ").indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (error) {
    /* an old browser: the service's time zone is used */
  }
})();

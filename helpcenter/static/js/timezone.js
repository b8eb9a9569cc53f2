// Remember the visitor's time zone so dates are shown in their local time (the server falls
// back to the service's zone when this cookie is absent or unknown).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (error) {
    /* an old browser: the service's time zone is used */
  }
})();

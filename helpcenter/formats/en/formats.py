# English dates: "Monday 7 December", "7 December 2026" (the service writes British English).
# The *_STYLE names are ours (foundation.times reads them); the others are Django's.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"

DAY_STYLE = "l j F"
DAY_TIME_STYLE = "l j F, H:i"
DAY_MONTH_STYLE = "j F"
DAY_MONTH_TIME_STYLE = "j F, H:i"
DATE_STYLE = "j F Y"
DATE_TIME_STYLE = "j F Y, H:i"
TIME_STYLE = "H:i"
SHORT_STYLE = "j M H:i"
SHORT_DATE_STYLE = "j M Y"
SHORT_DATE_TIME_STYLE = "j M Y H:i"
ISO_DATE_STYLE = "Y-m-d"  # a <time datetime> of a whole day

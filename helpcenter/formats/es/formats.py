# Spanish dates as Spanish writes them: "lunes 7 de diciembre", "7 de diciembre de 2026",
# months in lower case ("7 dic"). Django's own es module fills in what is not said here.
# The *_STYLE names are ours (foundation.times reads them); the others are Django's.
DATE_FORMAT = r"j \d\e F \d\e Y"
DATETIME_FORMAT = r"j \d\e F \d\e Y, H:i"
MONTH_DAY_FORMAT = r"j \d\e F"
SHORT_DATE_FORMAT = "j b Y"
SHORT_DATETIME_FORMAT = "j b Y, H:i"
TIME_FORMAT = "H:i"

DAY_STYLE = r"l j \d\e F"
DAY_TIME_STYLE = r"l j \d\e F, H:i"
DAY_MONTH_STYLE = r"j \d\e F"
DAY_MONTH_TIME_STYLE = r"j \d\e F, H:i"
DATE_STYLE = r"j \d\e F \d\e Y"
DATE_TIME_STYLE = r"j \d\e F \d\e Y, H:i"
TIME_STYLE = "H:i"
# Staff tables: short and lower case ("7 dic 16:00"), `b` rather than `M` ("Dic").
SHORT_STYLE = "j b H:i"
SHORT_DATE_STYLE = "j b Y"
SHORT_DATE_TIME_STYLE = "j b Y H:i"
ISO_DATE_STYLE = "Y-m-d"  # a <time datetime> of a whole day

//! Conversions between the Edm text types and the `time` crate's types (behind the `time`
//! feature) and `uuid::Uuid`.

use super::EdmError;
use super::Guid;
#[cfg(feature = "time")]
use super::{Date, DateTimeOffset, TimeOfDay};

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl DateTimeOffset {
    /// Parses the value. A value without an offset (seen on some Graph properties) is UTC.
    ///
    /// # Errors
    /// [`EdmError`] when the text is not an RFC 3339 date-time.
    pub fn to_offset_date_time(&self) -> Result<time::OffsetDateTime, EdmError> {
        use time::format_description::well_known::Rfc3339;
        let s = self.0.trim();
        time::OffsetDateTime::parse(s, &Rfc3339)
            .or_else(|_| time::OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
            .map_err(|_| EdmError::new("DateTimeOffset", s))
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl From<time::OffsetDateTime> for DateTimeOffset {
    fn from(value: time::OffsetDateTime) -> Self {
        use time::format_description::well_known::Rfc3339;
        // Formatting a valid OffsetDateTime as RFC 3339 only fails for years beyond 9999.
        Self(value.format(&Rfc3339).unwrap_or_else(|_| value.to_string()))
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl Date {
    /// Parses the value.
    ///
    /// # Errors
    /// [`EdmError`] when the text is not `YYYY-MM-DD`.
    pub fn to_date(&self) -> Result<time::Date, EdmError> {
        let s = self.0.trim();
        let err = || EdmError::new("Date", s);
        let mut parts = s.splitn(3, '-');
        let mut field = |digits: usize| {
            parts
                .next()
                .filter(|p| p.len() == digits && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(err)
        };
        let (year, month, day) = (field(4)?, field(2)?, field(2)?);
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .ok_or_else(err)?;
        let day = u8::try_from(day).map_err(|_| err())?;
        time::Date::from_calendar_date(i32::from(year), month, day).map_err(|_| err())
    }
}

#[cfg(feature = "time")]
#[cfg_attr(docsrs, doc(cfg(feature = "time")))]
impl TimeOfDay {
    /// Parses the value (fractional seconds up to nanoseconds).
    ///
    /// # Errors
    /// [`EdmError`] when the text is not `hh:mm[:ss[.f]]`.
    pub fn to_time(&self) -> Result<time::Time, EdmError> {
        let s = self.0.trim();
        let err = || EdmError::new("TimeOfDay", s);
        let two_digits = |p: &str| {
            (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u8>().ok())
                .flatten()
                .ok_or_else(err)
        };
        let (hms, frac) = match s.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (s, None),
        };
        let mut parts = hms.split(':');
        let h = two_digits(parts.next().unwrap_or(""))?;
        let m = two_digits(parts.next().ok_or_else(err)?)?;
        let sec = parts.next().map(two_digits).transpose()?;
        if parts.next().is_some() || (sec.is_none() && frac.is_some()) {
            return Err(err());
        }
        let nanos = match frac {
            None => 0,
            Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{f:0<9}").parse::<u32>().map_err(|_| err())?
            }
            Some(_) => return Err(err()),
        };
        time::Time::from_hms_nano(h, m, sec.unwrap_or(0), nanos).map_err(|_| err())
    }
}

impl Guid {
    /// Parses the value.
    ///
    /// # Errors
    /// [`EdmError`] when the text is not a UUID.
    pub fn to_uuid(&self) -> Result<uuid::Uuid, EdmError> {
        uuid::Uuid::parse_str(self.0.trim()).map_err(|_| EdmError::new("Guid", &self.0))
    }
}

impl From<uuid::Uuid> for Guid {
    fn from(u: uuid::Uuid) -> Self {
        Self(u.to_string())
    }
}

#[cfg(all(test, feature = "time"))]
mod tests {
    use super::*;

    #[test]
    fn date_time_offset_with_seven_digits_and_offsets() {
        let a = DateTimeOffset::new("2014-01-01T00:00:00.1234567Z");
        assert_eq!(a.to_offset_date_time().unwrap().nanosecond(), 123_456_700);
        let b = DateTimeOffset::new("2014-01-01T02:00:00+02:00");
        assert_eq!(
            b.to_offset_date_time().unwrap().unix_timestamp(),
            1_388_534_400
        );
        let c = DateTimeOffset::new("2014-01-01T00:00:00");
        assert_eq!(
            c.to_offset_date_time().unwrap().unix_timestamp(),
            1_388_534_400
        );
        assert!(
            DateTimeOffset::new("datetime-value")
                .to_offset_date_time()
                .is_err()
        );
        // Round trip keeps the text exactly.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"2014-01-01T00:00:00.1234567Z\"");
    }

    #[test]
    fn dates_and_times_of_day() {
        let d = Date::new("2023-05-09").to_date().unwrap();
        assert_eq!((d.year(), d.month() as u8, d.day()), (2023, 5, 9));
        for bad in [
            "2023-13-01",
            "2023-02-30",
            "23-05-09",
            "2023-5-09",
            "2023-05-09x",
            "",
            "2023-05",
        ] {
            assert!(Date::new(bad).to_date().is_err(), "{bad:?} parsed");
        }
        let t = TimeOfDay::new("08:30:15.5").to_time().unwrap();
        assert_eq!(
            (t.hour(), t.minute(), t.second(), t.millisecond()),
            (8, 30, 15, 500)
        );
        let t = TimeOfDay::new("23:59").to_time().unwrap();
        assert_eq!((t.hour(), t.minute(), t.second()), (23, 59, 0));
        let t = TimeOfDay::new("00:00:01.000000001").to_time().unwrap();
        assert_eq!(t.nanosecond(), 1);
        for bad in [
            "08:30:15:99",
            "+8:+3",
            "8:3",
            "08:30:15.",
            "08:30.5",
            "24:00",
            "08:60",
            "08:30:15.1234567891",
            "08",
            "",
        ] {
            assert!(TimeOfDay::new(bad).to_time().is_err(), "{bad:?} parsed");
        }
    }
}

#[cfg(test)]
mod uuid_tests {
    use super::*;

    #[test]
    fn guids() {
        let text = "48d31887-5fad-4d73-a9f5-3c356e68a038";
        let parsed = Guid::new(text).to_uuid().unwrap();
        assert_eq!(Guid::from(parsed).as_str(), text);
        assert!(Guid::new("not-a-guid").to_uuid().is_err());
    }
}

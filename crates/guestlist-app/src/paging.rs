//! Opaque keyset cursors over a unique `(created_at, id)` key.

use guestlist_domain::Error;
use guestlist_store::PageKey;
use time::OffsetDateTime;
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

pub(crate) fn page_size(requested: Option<u32>) -> Result<u32, Error> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid(
            "limit",
            format!("a page holds 1 to {MAX_PAGE_SIZE} rows"),
        )),
    }
}

/// The opaque cursor of a row with this `(created_at, id)` key.
pub fn encode(key: &PageKey) -> String {
    let ms = key.created_at.unix_timestamp_nanos() / 1_000_000;
    format!("{ms:x}.{}", key.id.simple())
}

pub(crate) fn decode(cursor: Option<&str>) -> Result<Option<PageKey>, Error> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || Error::invalid("after", "not a cursor this service issued");
    // Exactly the form `encode` writes (`formats::CURSOR`): 1-11 lower-case hex digits
    // of milliseconds, a dot, the id's 32.
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let (ms, id) = cursor.split_once('.').ok_or_else(bad)?;
    if !(1..=11).contains(&ms.len()) || id.len() != 32 || !hex(ms) || !hex(id) {
        return Err(bad());
    }
    let ms = i64::from_str_radix(ms, 16).map_err(|_| bad())?;
    let created_at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|_| bad())?;
    let id = Uuid::try_parse(id).map_err(|_| bad())?;
    Ok(Some(PageKey { created_at, id }))
}

/// Splits a `limit + 1` fetch into the page and the cursor of the next one.
pub(crate) fn split<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> PageKey,
) -> (Vec<T>, Option<String>) {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        let next = rows.last().map(|r| encode(&key(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = PageKey {
            created_at: crate::now(),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode(Some(&encode(&key))).unwrap(), Some(key));
        let id = Uuid::now_v7();
        let forms = [
            id.hyphenated().to_string(),
            id.simple().to_string().to_uppercase(),
        ];
        for bad in [
            "",
            "x",
            "zz.abc",
            "1.not-a-uuid",
            &format!("1.{}", forms[0]),
            &format!("1.{}", forms[1]),
            &format!("+1.{}", id.simple()),
            &format!("123456789abc.{}", id.simple()),
        ] {
            assert_eq!(decode(Some(bad)).unwrap_err().field(), Some("after"));
        }
        assert!(decode(Some(&format!("1.{}", id.simple()))).is_ok());
        assert!(page_size(Some(0)).is_err() && page_size(Some(101)).is_err());
    }
}

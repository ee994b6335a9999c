use guestlist_store::domain::{self, InviteState, Permissions, RoleName, SpacePath, UserId};
use guestlist_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::*;
use crate::filters::*;
use crate::{SqlTx, sql_once};

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn at(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(Error::internal)
}

fn opt_at(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(at).transpose()
}

fn u32_of(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(Error::internal)
}

//! The sign-up gate: reading it, and a platform administrator setting it.

use super::*;
use crate::ops::operation;
use crate::{App, Result};
use guestlist_domain::events::SignupGateChanged;
use guestlist_domain::{Actor, Error, Gate};
use guestlist_store::{GateRow, GateSettings};

/// The gate as anyone may see it.
#[derive(Debug, Clone)]
pub struct GateView {
    pub gate: Gate,
    /// Seats left under the cap (`None`: no cap).
    pub remaining: Option<u32>,
    pub settings: GateSettings,
}

impl From<GateRow> for GateView {
    fn from(g: GateRow) -> Self {
        GateView {
            gate: g.settings.gate,
            remaining: g.settings.gate.remaining(g.seats_taken),
            settings: g.settings,
        }
    }
}

pub(super) struct ReadGate;

operation!(ReadGate => GateView, |self, tx| {
    Ok(tx.gate().await?.into())
});

pub(super) struct SetGate {
    pub(super) actor: Actor,
    pub(super) settings: GateSettings,
}

operation!(SetGate => GateView, |self, tx| {
    platform_admin(&self.actor)?;
    let row = tx.set_gate(&self.settings, crate::now()).await?;
    tx.append_event(&event(
        &self.actor,
        None,
        SignupGateChanged {
            mode: self.settings.gate.mode().to_owned(),
            cap: self.settings.gate.cap,
            user_invitations: self.settings.user_invitations,
            user_quota: self.settings.user_quota,
            quota_period_secs: self.settings.quota_period_secs,
        },
    ))
    .await?;
    Ok(row.into())
});

impl App {
    /// The gate as anyone may see it.
    pub async fn gate(&self) -> Result<GateView> {
        self.store_ref().read(ReadGate).await
    }

    /// Sets the gate (platform admins).
    pub async fn set_gate(&self, actor: &Actor, settings: GateSettings) -> Result<GateView> {
        if settings.gate.cap.is_some_and(|c| c > MAX_GATE_CAP) {
            return Err(Error::invalid("cap", format!("at most {MAX_GATE_CAP}")));
        }
        if settings.user_quota.is_some_and(|q| q > MAX_USER_QUOTA) {
            return Err(Error::invalid(
                "user_quota",
                format!("at most {MAX_USER_QUOTA}"),
            ));
        }
        if settings
            .quota_period_secs
            .is_some_and(|s| !(1..=MAX_QUOTA_PERIOD_DAYS * 86_400).contains(&s))
        {
            return Err(Error::invalid(
                "quota_period_days",
                format!("1 to {MAX_QUOTA_PERIOD_DAYS} days"),
            ));
        }
        self.store_ref()
            .write(SetGate {
                actor: actor.clone(),
                settings,
            })
            .await
    }
}

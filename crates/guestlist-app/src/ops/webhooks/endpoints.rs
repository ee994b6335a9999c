//! Webhook endpoints: register, list, read, update, delete, rotate the secret, send a
//! test, each by an admin of the endpoint's space.

use super::*;
use crate::ops::{operation, text};
use crate::scope::{Scope, subtrees_with};
use crate::{App, Result};
use guestlist_domain::events::{
    WebhookEndpointCreated, WebhookEndpointDeleted, WebhookEndpointUpdated, WebhookSecretRotated,
    WebhookTest,
};
use guestlist_domain::{Actor, Error, Permission};
use guestlist_store::{EndpointPatch, EndpointRow, NewEndpoint, Visibility};
use std::time::Duration;
use uuid::Uuid;

pub(super) struct CreateEndpoint {
    pub(super) actor: Actor,
    pub(super) input: EndpointInput,
}

operation!(CreateEndpoint => EndpointRow, |self, tx| {
    require_owner(tx, &self.actor, self.input.space.as_ref()).await?;
    let space = match &self.input.space {
        Some(p) => {
            let s = Scope::load(tx, p).await?.space;
            Some((s.id, s.path))
        }
        None => None,
    };
    let ep = tx
        .insert_endpoint(&NewEndpoint {
            id: Uuid::now_v7(),
            url: self.input.url.clone(),
            description: self.input.description.clone().unwrap_or_default(),
            kinds: self.input.kinds.clone(),
            space,
            created_by: self.actor.label(),
            created_at: crate::now(),
        })
        .await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointCreated { host: host_of(&ep.url) }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

pub(super) struct ListEndpoints {
    pub(super) actor: Actor,
}

operation!(ListEndpoints => Vec<EndpointRow>, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::Admin).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    tx.endpoints(&visible).await
});

pub(super) struct GetEndpoint {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(GetEndpoint => EndpointRow, |self, tx| { owned(tx, &self.actor, self.id).await });

pub(super) struct UpdateEndpoint {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) patch: EndpointPatch,
}

operation!(UpdateEndpoint => EndpointRow, |self, tx| {
    owned(tx, &self.actor, self.id).await?;
    // Whoever enables an endpoint owns it from then on: its standing ends with their
    // rights (`ceiling::disable_endpoints_beyond`). So another admin takes over one
    // that was disabled when its owner lost the right to manage it.
    let mut patch = self.patch.clone();
    if patch.enabled == Some(true) {
        patch.owner = Some(self.actor.label());
    }
    tx.update_endpoint(self.id, &patch, crate::now()).await?;
    let ep = tx.endpoint(self.id).await?.ok_or(Error::NotFound("webhook"))?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointUpdated { enabled: ep.enabled }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

pub(super) struct DeleteEndpoint {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(DeleteEndpoint => (), |self, tx| {
    let ep = owned(tx, &self.actor, self.id).await?;
    tx.delete_endpoint(self.id, crate::now()).await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointDeleted {}).await?;
    tx.append_event(&e).await
});

pub(super) struct RotateSecret {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) overlap: Duration,
}

operation!(RotateSecret => EndpointRow, |self, tx| {
    owned(tx, &self.actor, self.id).await?;
    let now = crate::now();
    let until = now + self.overlap;
    tx.rotate_endpoint(self.id, until, now).await?;
    let ep = tx.endpoint(self.id).await?.ok_or(Error::NotFound("webhook"))?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookSecretRotated { previous_until: until.unix_timestamp() }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

pub(super) struct TestEndpoint {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(TestEndpoint => Uuid, |self, tx| {
    let ep = owned(tx, &self.actor, self.id).await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookTest {}).await?;
    tx.append_event(&e).await?;
    Ok(e.id)
});

impl App {
    /// Registers an endpoint; the answer holds its signing secret, shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        input: EndpointInput,
    ) -> Result<EndpointSecret> {
        let url = self
            .webhook_config()
            .rule()
            .check("url", input.url.trim())
            .await?;
        let input = EndpointInput {
            url: url.to_string(),
            description: text("description", input.description.as_deref(), 500)?,
            kinds: kinds_of(input.kinds)?,
            space: input.space,
        };
        let endpoint = self
            .store_ref()
            .write(CreateEndpoint {
                actor: actor.clone(),
                input,
            })
            .await?;
        Ok(EndpointSecret {
            secret: self.secret_of(&endpoint),
            endpoint,
        })
    }

    /// The endpoints the actor manages, oldest first.
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<EndpointRow>> {
        self.store_ref()
            .read(ListEndpoints {
                actor: actor.clone(),
            })
            .await
    }

    pub async fn get_webhook(&self, actor: &Actor, id: Uuid) -> Result<EndpointRow> {
        self.store_ref()
            .read(GetEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }

    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        update: EndpointUpdate,
    ) -> Result<EndpointRow> {
        let url = match &update.url {
            Some(u) => Some(
                self.webhook_config()
                    .rule()
                    .check("url", u.trim())
                    .await?
                    .to_string(),
            ),
            None => None,
        };
        let patch = EndpointPatch {
            url,
            description: match &update.description {
                Some(d) => Some(text("description", Some(d), 500)?.unwrap_or_default()),
                None => None,
            },
            kinds: match update.kinds {
                Some(k) => Some(kinds_of(k)?),
                None => None,
            },
            enabled: update.enabled,
            owner: None,
        };
        self.store_ref()
            .write(UpdateEndpoint {
                actor: actor.clone(),
                id,
                patch,
            })
            .await
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: Uuid) -> Result<()> {
        self.store_ref()
            .write(DeleteEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// A new signing secret, shown this once; the previous one also signs for the
    /// configured overlap.
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: Uuid) -> Result<EndpointSecret> {
        let endpoint = self
            .store_ref()
            .write(RotateSecret {
                actor: actor.clone(),
                id,
                overlap: self.webhook_config().rotation_overlap,
            })
            .await?;
        Ok(EndpointSecret {
            secret: self.secret_of(&endpoint),
            endpoint,
        })
    }

    /// Records a `webhook.test` event for this endpoint alone; its id.
    pub async fn test_webhook(&self, actor: &Actor, id: Uuid) -> Result<Uuid> {
        self.store_ref()
            .write(TestEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }
}

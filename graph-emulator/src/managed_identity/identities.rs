//! The managed identities of the emulated environment: one system-assigned identity and any
//! number of user-assigned ones.

use serde::{Deserialize, Serialize};

use crate::seeded;

/// A managed identity (system- or user-assigned) and its service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ManagedIdentity {
    /// A name for messages and the banner.
    pub name: String,
    /// The client (application) id of the identity's service principal.
    pub client_id: String,
    /// The object id of its service principal (`principal_id`, `object_id`; the token's `oid`).
    pub principal_id: String,
    /// The Azure resource id (`msi_res_id`, `mi_res_id`), e.g.
    /// `/subscriptions/.../resourceGroups/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`.
    pub resource_id: String,
    /// Whether this is the system-assigned identity (answered when no identity is named).
    #[serde(default)]
    pub system_assigned: bool,
    /// Microsoft Graph app roles in its tokens for Graph.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl ManagedIdentity {
    /// A user-assigned identity with these ids and no roles.
    pub fn user_assigned(
        name: impl Into<String>,
        client_id: impl Into<String>,
        principal_id: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> Self {
        ManagedIdentity {
            name: name.into(),
            client_id: client_id.into(),
            principal_id: principal_id.into(),
            resource_id: resource_id.into(),
            system_assigned: false,
            roles: Vec::new(),
        }
    }

    /// Sets the Graph app roles.
    #[must_use]
    pub fn with_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }
}

/// How a request names a user-assigned identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector<'a> {
    /// None named: the system-assigned identity.
    System,
    /// `client_id`.
    ClientId(&'a str),
    /// `object_id` (IMDS) or `principal_id` (App Service).
    PrincipalId(&'a str),
    /// `msi_res_id` (IMDS) or `mi_res_id` (App Service).
    ResourceId(&'a str),
}

/// The identities, system-assigned first when there is one.
#[derive(Debug, Clone, Default)]
pub(crate) struct ManagedIdentities {
    all: Vec<ManagedIdentity>,
}

impl ManagedIdentities {
    pub(crate) fn new(all: Vec<ManagedIdentity>) -> Self {
        ManagedIdentities { all }
    }

    /// Every identity.
    pub(crate) fn all(&self) -> &[ManagedIdentity] {
        &self.all
    }

    /// Adds an identity, or replaces the one with the same client id.
    pub(crate) fn upsert(&mut self, identity: ManagedIdentity) {
        self.all
            .retain(|mi| !mi.client_id.eq_ignore_ascii_case(&identity.client_id));
        if identity.system_assigned {
            for mi in &mut self.all {
                mi.system_assigned = false;
            }
        }
        self.all.push(identity);
    }

    /// The identity a request names (ids compare case-insensitively).
    pub(crate) fn find(&self, selector: Selector<'_>) -> Option<&ManagedIdentity> {
        self.all.iter().find(|mi| match selector {
            Selector::System => mi.system_assigned,
            Selector::ClientId(id) => mi.client_id.eq_ignore_ascii_case(id),
            Selector::PrincipalId(id) => mi.principal_id.eq_ignore_ascii_case(id),
            Selector::ResourceId(id) => mi.resource_id.eq_ignore_ascii_case(id),
        })
    }
}

/// The seeded identities (see [`crate::seeded`]).
pub(crate) fn seeded_identities() -> Vec<ManagedIdentity> {
    vec![
        ManagedIdentity {
            name: "system-assigned".to_owned(),
            client_id: seeded::SYSTEM_IDENTITY_CLIENT_ID.to_owned(),
            principal_id: seeded::SYSTEM_IDENTITY_PRINCIPAL_ID.to_owned(),
            resource_id: seeded::SYSTEM_IDENTITY_RESOURCE_ID.to_owned(),
            system_assigned: true,
            roles: seeded::SYSTEM_IDENTITY_ROLES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        },
        ManagedIdentity::user_assigned(
            "emulator-identity-1",
            seeded::USER_IDENTITY_1_CLIENT_ID,
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
            seeded::USER_IDENTITY_1_RESOURCE_ID,
        )
        .with_roles(["User.Read.All"]),
        ManagedIdentity::user_assigned(
            "emulator-identity-2",
            seeded::USER_IDENTITY_2_CLIENT_ID,
            seeded::USER_IDENTITY_2_PRINCIPAL_ID,
            seeded::USER_IDENTITY_2_RESOURCE_ID,
        )
        .with_roles(["Group.Read.All"]),
    ]
}

//! Turning a [`TenantConfig`] into directory objects and app registrations.

use std::collections::HashMap;

use serde_json::json;

use super::{AppConfig, TenantConfig};
use crate::error::Error;
use crate::identity::{AppRegistration, RegisteredCertificate, TrustedSubject};
use crate::store::{Directory, Entity, Kind};

/// An app registration from its configuration.
///
/// # Errors
/// [`Error::Config`] for an empty client id or a certificate that does not parse (`at` names
/// the entry in messages, e.g. `apps[2]`).
pub(crate) fn registration(app: &AppConfig, at: &str) -> Result<AppRegistration, Error> {
    let client_id = app.client_id.trim();
    if client_id.is_empty() {
        return Err(Error::Config(format!("{at}.client_id: must not be empty")));
    }
    let certificates = app
        .certificates
        .iter()
        .enumerate()
        .map(|(j, pem)| {
            RegisteredCertificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("{at}.certificates[{j}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let trusted_subjects = app
        .subject_name_credentials
        .iter()
        .enumerate()
        .map(|(j, c)| {
            TrustedSubject::from_credential(c)
                .map_err(|e| Error::Config(format!("{at}.subject_name_credentials[{j}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppRegistration {
        client_id: client_id.to_owned(),
        display_name: app
            .display_name
            .clone()
            .unwrap_or_else(|| client_id.to_owned()),
        service_principal_id: app
            .service_principal_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        secrets: app.client_secrets.clone(),
        certificates,
        redirect_uris: app.redirect_uris.clone(),
        any_loopback_redirect: false,
        identifier_uris: app.identifier_uris.clone(),
        graph_roles: app.roles.clone(),
        exposed_scopes: app.scopes.clone(),
        federated_credentials: app.federated_credentials.clone(),
        trusted_subjects,
    })
}

/// Adds the configured users and groups, then managers, members and owners, to `dir`.
///
/// # Errors
/// [`Error::Config`] naming the entry and field at fault (`users[1].properties: ...`,
/// `groups[0].members[2]: no object ...`).
pub(crate) fn apply_directory(config: &TenantConfig, dir: &mut Directory) -> Result<(), Error> {
    let mut user_ids = Vec::with_capacity(config.users.len());
    for (i, user) in config.users.iter().enumerate() {
        let at = format!("users[{i}]");
        let id = user
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut entity = Entity::new(Kind::User, &id, &user.display_name)
            .with("userPrincipalName", json!(user.user_principal_name))
            .with("accountEnabled", json!(true))
            .with("userType", json!("Member"))
            .with(
                "mailNickname",
                json!(
                    user.user_principal_name
                        .split('@')
                        .next()
                        .unwrap_or_default()
                ),
            );
        entity
            .apply(&user.properties)
            .map_err(|e| Error::Config(format!("{at}.properties: {e}")))?;
        dir.insert(entity)
            .map_err(|e| Error::Config(format!("{at}: {e}")))?;
        user_ids.push(id);
    }
    let mut by_name: HashMap<String, String> = HashMap::new();
    for (i, group) in config.groups.iter().enumerate() {
        let at = format!("groups[{i}]");
        let id = group
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let nickname = group.mail_nickname.clone().unwrap_or_else(|| {
            group
                .display_name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        });
        let mut entity = Entity::new(Kind::Group, &id, &group.display_name)
            .with("mailNickname", json!(nickname))
            .with("securityEnabled", json!(!group.unified))
            .with("mailEnabled", json!(group.unified));
        if group.unified {
            entity = entity
                .with("groupTypes", json!(["Unified"]))
                .with("mail", json!(format!("{nickname}@contoso.com")))
                .with("visibility", json!("Public"));
        }
        entity
            .apply(&group.properties)
            .map_err(|e| Error::Config(format!("{at}.properties: {e}")))?;
        dir.insert(entity)
            .map_err(|e| Error::Config(format!("{at}: {e}")))?;
        by_name.insert(group.display_name.to_lowercase(), id.to_ascii_lowercase());
    }
    let resolve = |dir: &Directory, name: &str| -> Option<String> {
        dir.user(name)
            .or_else(|| dir.object(name))
            .map(|e| e.id.clone())
            .or_else(|| by_name.get(&name.to_lowercase()).cloned())
    };
    for (i, user) in config.users.iter().enumerate() {
        if let Some(manager) = &user.manager {
            let at = format!("users[{i}].manager");
            let target = resolve(dir, manager)
                .ok_or_else(|| Error::Config(format!("{at}: no user `{manager}`")))?;
            dir.set_manager(&user_ids[i], &target)
                .map_err(|e| Error::Config(format!("{at}: {e}")))?;
        }
    }
    for (i, group) in config.groups.iter().enumerate() {
        let id = by_name
            .get(&group.display_name.to_lowercase())
            .cloned()
            .unwrap_or_default();
        for (list, name) in [(&group.members, "members"), (&group.owners, "owners")] {
            for (j, member) in list.iter().enumerate() {
                let at = format!("groups[{i}].{name}[{j}]");
                let target = resolve(dir, member)
                    .ok_or_else(|| Error::Config(format!("{at}: no object `{member}`")))?;
                let added = if name == "members" {
                    dir.add_member(&id, &target)
                } else {
                    dir.add_owner(&id, &target)
                };
                added.map_err(|e| Error::Config(format!("{at}: {e}")))?;
            }
        }
    }
    Ok(())
}

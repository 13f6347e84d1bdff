//! The seeded demo tenant. Ids, names and principal names come from the documented samples in
//! `testdata/graph-samples`, so a documented request with those ids works against the emulator.

use serde_json::{Value, json};

use super::{Directory, Entity, Kind};

/// Ids of well-known seeded objects (reused by tests and by the identity side).
pub mod ids {
    /// Adele Vance (`AdeleV@contoso.com`): the default signed-in user; manager Sara Davis; member of nested
    /// groups, a directory role and an administrative unit.
    pub const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
    /// MOD Administrator (`admin@contoso.com`), Global Administrator.
    pub const ADMIN: &str = "4562bcc8-c436-4f95-b7c0-4f8ce89dca5e";
    /// Conf Room Adams (`Adams@contoso.com`).
    pub const ADAMS: &str = "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0";
    /// Sara Davis (`SaraD@contoso.onmicrosoft.com`), Finance VP, Adele's manager.
    pub const SARA: &str = "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b";
    /// Grady Archie (`GradyA@contoso.com`).
    pub const GRADY: &str = "e8b753b5-4117-464e-9a08-713e1ff266b3";
    /// Megan Bowen (`MeganB@contoso.com`), the user of the memberOf samples.
    pub const MEGAN: &str = "6e7b768e-07e2-4810-8459-485f84f8f204";
    /// Joseph Price (`user1@contoso.com`).
    pub const JOSEPH: &str = "11111111-2222-3333-4444-555555555555";
    /// Preston Morales.
    pub const PRESTON: &str = "66666666-7777-8888-9999-000000000000";
    /// Trevor Jones (getByIds sample).
    pub const TREVOR: &str = "84b80893-8749-40a3-97b7-68513b600544";
    /// Billy Smith (getByIds sample).
    pub const BILLY: &str = "5d6059b6-368d-45f8-91e1-8e07d485f1d0";
    /// Oscar Ward.
    pub const OSCAR: &str = "3a5b7c9d-1e2f-4a6b-8c0d-2e4f6a8b0c1d";
    /// A guest user (`contoso1_gmail.com#EXT#@contoso.onmicrosoft.com`).
    pub const GUEST: &str = "9b2c4d6e-8f0a-4b1c-9d3e-5f7a9b1c3d5e";

    /// "All Users": security group of every seeded member user.
    pub const ALL_USERS: &str = "c11b732b-0e16-46c1-b0fa-bd32c8a42455";
    /// "AAD Contoso Users": mail-enabled security group, nested in All_Contoso_Licensing.
    pub const AAD_CONTOSO_USERS: &str = "3f927b40-06f8-4352-b8e4-37a7ba04b7ff";
    /// "All_Contoso_Licensing": mail-enabled security group holding AAD Contoso Users.
    pub const LICENSING: &str = "fee2c45b-915a-4a64-b130-f4eb9e75525e";
    /// "Contoso-tier Query Notification": security group, nested in Finance.
    pub const TIER: &str = "4fe90ae7-065a-478b-9400-e0a0e1cbd540";
    /// "Finance": security group (not mail-enabled).
    pub const FINANCE: &str = "e0c3beaf-eeb4-43d8-abc5-94f037a65697";
    /// "Golf Assist": Microsoft 365 group.
    pub const GOLF_ASSIST: &str = "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4";
    /// "Golf Discussion": distribution group (mail-enabled, not security).
    pub const GOLF_DISCUSSION: &str = "d7797254-3084-44d0-99c9-a3b5ab149538";
    /// "Library Assist": Microsoft 365 group.
    pub const LIBRARY_ASSIST: &str = "b320ee12-b1cd-4cca-b648-a437be61c5cd";
    /// "Contoso Group 1" (has members with license errors).
    pub const CONTOSO_GROUP_1: &str = "33333333-4444-5555-6666-777777777777";
    /// "Contoso Group 2" (has members with license errors).
    pub const CONTOSO_GROUP_2: &str = "22222222-3333-4444-5555-666666666666";

    /// Directory role "Global Administrator".
    pub const ROLE_GLOBAL_ADMIN: &str = "9ed3a0c4-53e1-498c-ab4d-2473476fde14";
    /// Directory role "Azure AD Joined Device Local Administrator".
    pub const ROLE_DEVICE_ADMIN: &str = "f8e85ed8-f66f-4058-b170-3efae8b9c6e5";
    /// Directory role "Directory Readers".
    pub const ROLE_DIRECTORY_READERS: &str = "fe8f10bf-c9c2-47eb-95cb-c26cc85f1830";
    /// Administrative unit "Seattle Retail".
    pub const AU_SEATTLE: &str = "4d7ea995-bc0f-45c0-8c0a-2a5b9ac2f3d1";
    /// Application "My app" (object id).
    pub const APPLICATION: &str = "acc848e9-e8ec-4feb-a521-8d58b5482e09";
    /// Service principal of "My app".
    pub const SERVICE_PRINCIPAL: &str = "00af5dfb-85da-4b41-a677-0c6b86dd34f8";
    /// Service principal "amasf" (an app of another tenant).
    pub const SERVICE_PRINCIPAL_AMASF: &str = "5b1c0f2e-3d4a-4e5f-8a6b-7c8d9e0f1a2b";
    /// A registered device.
    pub const DEVICE: &str = "2b6a5f8e-4c7d-4e9a-8f1b-3c5d7e9f1a2b";
}

struct Person<'a> {
    id: &'a str,
    name: &'a str,
    given: Option<&'a str>,
    surname: Option<&'a str>,
    upn: &'a str,
    mail: Option<&'a str>,
    job: Option<&'a str>,
    phone: Option<&'a str>,
    office: Option<&'a str>,
}

fn person(p: &Person<'_>) -> Entity {
    let nickname = p.upn.split('@').next().unwrap_or(p.upn);
    let phones: Vec<Value> = p.phone.map(|x| json!(x)).into_iter().collect();
    let domain = p.upn.rsplit('@').next().unwrap_or("contoso.com");
    Entity::new(Kind::User, p.id, p.name)
        .with("userPrincipalName", json!(p.upn))
        .with("givenName", json!(p.given))
        .with("surname", json!(p.surname))
        .with("mail", json!(p.mail))
        .with("jobTitle", json!(p.job))
        .with("mobilePhone", json!(p.phone))
        .with("businessPhones", Value::Array(phones))
        .with("officeLocation", json!(p.office))
        .with("preferredLanguage", json!("en-US"))
        .with("accountEnabled", json!(true))
        .with("mailNickname", json!(nickname))
        .with("userType", json!("Member"))
        .with("usageLocation", json!("US"))
        .with("createdDateTime", json!("2021-04-01T08:00:00Z"))
        .with(
            "identities",
            json!([{"signInType": "userPrincipalName", "issuer": domain, "issuerAssignedId": p.upn}]),
        )
}

/// A group with Graph's default properties (also used by the generator).
pub(super) fn group(
    id: &str,
    name: &str,
    nickname: &str,
    mail: bool,
    security: bool,
    unified: bool,
) -> Entity {
    let group_types = if unified {
        json!(["Unified"])
    } else {
        json!([])
    };
    let address = format!("{nickname}@contoso.com");
    let proxies = if mail {
        json!([
            format!("SMTP:{address}"),
            format!("smtp:{nickname}@contoso.onmicrosoft.com")
        ])
    } else {
        json!([])
    };
    Entity::new(Kind::Group, id, name)
        .with("mailNickname", json!(nickname))
        .with("mail", if mail { json!(address) } else { Value::Null })
        .with("mailEnabled", json!(mail))
        .with("securityEnabled", json!(security))
        .with("groupTypes", group_types)
        .with("proxyAddresses", proxies)
        .with("createdDateTime", json!("2018-12-22T02:21:05Z"))
        .with("renewedDateTime", json!("2018-12-22T02:21:05Z"))
        .with(
            "visibility",
            if unified {
                json!("Public")
            } else {
                Value::Null
            },
        )
        .with("allowExternalSenders", json!(false))
        .with("autoSubscribeNewMembers", json!(false))
        .with("isSubscribedByMail", json!(false))
        .with("unseenCount", json!(0))
        .with("hasMembersWithLicenseErrors", json!(false))
}

impl Directory {
    /// The seeded demo tenant: a dozen users (including the documented Adele Vance, MOD Administrator,
    /// Sara Davis, ...), nested security, distribution and Microsoft 365 groups, three directory roles,
    /// an administrative unit, an application with its service principal, and a device.
    pub fn seeded() -> Directory {
        let mut d = Directory::empty();
        for e in seed_objects() {
            // Seed ids and principal names are distinct by construction; a clash would be a bug in this file.
            if let Err(err) = d.insert(e) {
                tracing::error!(%err, "seed object rejected");
            }
        }
        use ids::*;
        let edges: &[(&str, &[&str])] = &[
            (
                ALL_USERS,
                &[
                    ADELE, ADMIN, SARA, GRADY, MEGAN, JOSEPH, PRESTON, TREVOR, BILLY, OSCAR,
                ],
            ),
            (AAD_CONTOSO_USERS, &[ADELE, MEGAN, GRADY]),
            (LICENSING, &[AAD_CONTOSO_USERS]),
            (TIER, &[ADELE, MEGAN, SERVICE_PRINCIPAL]),
            (FINANCE, &[SARA, TIER]),
            (GOLF_ASSIST, &[ADELE, ADMIN]),
            (GOLF_DISCUSSION, &[GRADY, JOSEPH]),
            (LIBRARY_ASSIST, &[ADELE, JOSEPH, PRESTON, GUEST]),
            (CONTOSO_GROUP_1, &[JOSEPH]),
            (CONTOSO_GROUP_2, &[PRESTON, DEVICE]),
            (ROLE_GLOBAL_ADMIN, &[ADMIN]),
            (ROLE_DIRECTORY_READERS, &[ADELE, MEGAN]),
            (ROLE_DEVICE_ADMIN, &[ADMIN]),
            (AU_SEATTLE, &[ADELE, GRADY, GOLF_ASSIST]),
        ];
        for (container, members) in edges {
            for m in *members {
                if let Err(err) = d.add_member(container, m) {
                    tracing::error!(%err, container, member = m, "seed edge rejected");
                }
            }
        }
        let owners: &[(&str, &[&str])] = &[
            (FINANCE, &[SARA]),
            (GOLF_ASSIST, &[ADELE, ADMIN]),
            (LIBRARY_ASSIST, &[MEGAN]),
            (CONTOSO_GROUP_1, &[JOSEPH]),
            (APPLICATION, &[ADMIN]),
        ];
        for (object, owned_by) in owners {
            for owner in *owned_by {
                if let Err(err) = d.add_owner(object, owner) {
                    tracing::error!(%err, object, owner, "seed owner rejected");
                }
            }
        }
        for (user, manager) in [(ADELE, SARA), (GRADY, SARA), (MEGAN, SARA), (SARA, ADMIN)] {
            if let Err(err) = d.set_manager(user, manager) {
                tracing::error!(%err, "seed manager rejected");
            }
        }
        d
    }
}

fn seed_objects() -> Vec<Entity> {
    use ids::*;
    let people = [
        Person {
            id: ADELE,
            name: "Adele Vance",
            given: Some("Adele"),
            surname: Some("Vance"),
            upn: "AdeleV@contoso.com",
            mail: Some("AdeleV@contoso.com"),
            job: Some("Retail Manager"),
            phone: Some("+1 425 555 0109"),
            office: Some("18/2111"),
        },
        Person {
            id: ADMIN,
            name: "MOD Administrator",
            given: Some("MOD"),
            surname: Some("Administrator"),
            upn: "admin@contoso.com",
            mail: None,
            job: None,
            phone: Some("425-555-0101"),
            office: None,
        },
        Person {
            id: ADAMS,
            name: "Conf Room Adams",
            given: None,
            surname: None,
            upn: "Adams@contoso.com",
            mail: Some("Adams@contoso.com"),
            job: None,
            phone: None,
            office: None,
        },
        Person {
            id: SARA,
            name: "Sara Davis",
            given: Some("Sara"),
            surname: Some("Davis"),
            upn: "SaraD@contoso.onmicrosoft.com",
            mail: Some("SaraD@contoso.onmicrosoft.com"),
            job: Some("Finance VP"),
            phone: None,
            office: None,
        },
        Person {
            id: GRADY,
            name: "Grady Archie",
            given: Some("Grady"),
            surname: Some("Archie"),
            upn: "GradyA@contoso.com",
            mail: Some("GradyA@contoso.com"),
            job: Some("Designer"),
            phone: Some("+1 309 555 0104"),
            office: Some("19/2109"),
        },
        Person {
            id: MEGAN,
            name: "Megan Bowen",
            given: Some("Megan"),
            surname: Some("Bowen"),
            upn: "MeganB@contoso.com",
            mail: Some("MeganB@contoso.com"),
            job: Some("Marketing Manager"),
            phone: None,
            office: Some("12/1110"),
        },
        Person {
            id: JOSEPH,
            name: "Joseph Price",
            given: Some("Joseph"),
            surname: Some("Price"),
            upn: "user1@contoso.com",
            mail: Some("user1@contoso.com"),
            job: None,
            phone: None,
            office: None,
        },
        Person {
            id: PRESTON,
            name: "Preston Morales",
            given: Some("Preston"),
            surname: Some("Morales"),
            upn: "PrestonM@contoso.com",
            mail: Some("PrestonM@contoso.com"),
            job: Some("Engineer"),
            phone: None,
            office: None,
        },
        Person {
            id: TREVOR,
            name: "Trevor Jones",
            given: Some("Trevor"),
            surname: Some("Jones"),
            upn: "TrevorJ@contoso.com",
            mail: Some("TrevorJ@contoso.com"),
            job: None,
            phone: None,
            office: None,
        },
        Person {
            id: BILLY,
            name: "Billy Smith",
            given: Some("Billy"),
            surname: Some("Smith"),
            upn: "BillyS@contoso.com",
            mail: Some("BillyS@contoso.com"),
            job: None,
            phone: None,
            office: None,
        },
        Person {
            id: OSCAR,
            name: "Oscar Ward",
            given: Some("Oscar"),
            surname: Some("Ward"),
            upn: "oscarward@contoso.com",
            mail: Some("oscarward@contoso.com"),
            job: None,
            phone: None,
            office: None,
        },
        Person {
            id: GUEST,
            name: "contoso1",
            given: None,
            surname: None,
            upn: "contoso1_gmail.com#EXT#@contoso.onmicrosoft.com",
            mail: Some("contoso1@gmail.com"),
            job: None,
            phone: None,
            office: None,
        },
    ];
    let mut out: Vec<Entity> = people.iter().map(person).collect();
    if let Some(oscar) = out.iter_mut().find(|e| e.id == OSCAR) {
        oscar.props.insert("mailNickname".into(), json!("oscward"));
    }
    if let Some(guest) = out.iter_mut().find(|e| e.id == GUEST) {
        guest.props.insert("userType".into(), json!("Guest"));
        guest
            .props
            .insert("mailNickname".into(), json!("contoso1_gmail.com#EXT#"));
        guest
            .props
            .insert("proxyAddresses".into(), json!(["SMTP:contoso1@gmail.com"]));
    }
    if let Some(adele) = out.iter_mut().find(|e| e.id == ADELE) {
        adele.props.insert("postalCode".into(), json!("98004"));
        adele.props.insert("city".into(), json!("Bellevue"));
        adele.props.insert("department".into(), json!("Retail"));
    }
    out.extend([
        group(ALL_USERS, "All Users", "allusers", false, true, false),
        group(AAD_CONTOSO_USERS, "AAD Contoso Users", "AADContoso_Users", true, true, false),
        group(LICENSING, "All_Contoso_Licensing", "ContosoMailNickName", true, true, false),
        group(TIER, "Contoso-tier Query Notification", "tiernotify", true, true, false),
        group(FINANCE, "Finance", "finance", false, true, false),
        group(GOLF_ASSIST, "Golf Assist", "golfassist", true, false, true)
            .with("description", json!("Self help community for golf"))
            .with("preferredDataLocation", json!("CAN")),
        group(GOLF_DISCUSSION, "Golf Discussion", "golftalk", true, false, false)
            .with("description", json!("Talk about golf")),
        group(LIBRARY_ASSIST, "Library Assist", "library", true, false, true)
            .with("description", json!("Self help community for library")),
        group(CONTOSO_GROUP_1, "Contoso Group 1", "contosogroup1", false, true, false)
            .with("hasMembersWithLicenseErrors", json!(true)),
        group(CONTOSO_GROUP_2, "Contoso Group 2", "contosogroup2", false, true, false)
            .with("hasMembersWithLicenseErrors", json!(true)),
        Entity::new(Kind::DirectoryRole, ROLE_GLOBAL_ADMIN, "Global Administrator")
            .with("description", json!("Can manage all aspects of Azure AD and Microsoft services that use Azure AD identities."))
            .with("roleTemplateId", json!("62e90394-69f5-4237-9190-012177145e10")),
        Entity::new(Kind::DirectoryRole, ROLE_DEVICE_ADMIN, "Azure AD Joined Device Local Administrator")
            .with("description", json!("Device Administrators"))
            .with("roleTemplateId", json!("9f06204d-73c1-4d4c-880a-6edb90606fd8")),
        Entity::new(Kind::DirectoryRole, ROLE_DIRECTORY_READERS, "Directory Readers")
            .with("description", json!("Can read basic directory information. Commonly used to grant directory read access to applications and guests."))
            .with("roleTemplateId", json!("88d8e3e3-8f55-4a1e-953a-9b9898b8876b")),
        Entity::new(Kind::AdministrativeUnit, AU_SEATTLE, "Seattle Retail")
            .with("description", json!("Retail stores in the Seattle area"))
            .with("visibility", json!("Public")),
        Entity::new(Kind::Application, APPLICATION, "My app")
            .with("appId", json!("d1f5e5c4-2c3b-4f6e-9a7d-8b9c0d1e2f3a"))
            .with("identifierUris", json!(["http://contoso/"]))
            .with("publisherDomain", json!("contoso.com"))
            .with("signInAudience", json!("AzureADMyOrg"))
            .with("createdDateTime", json!("2021-04-01T08:00:00Z")),
        Entity::new(Kind::ServicePrincipal, SERVICE_PRINCIPAL, "My app")
            .with("accountEnabled", json!(true))
            .with("appId", json!("d1f5e5c4-2c3b-4f6e-9a7d-8b9c0d1e2f3a"))
            .with("appDisplayName", json!("My app"))
            .with("servicePrincipalType", json!("Application"))
            .with("signInAudience", json!("AzureADMyOrg"))
            .with("servicePrincipalNames", json!(["http://contoso/", "d1f5e5c4-2c3b-4f6e-9a7d-8b9c0d1e2f3a"])),
        Entity::new(Kind::ServicePrincipal, SERVICE_PRINCIPAL_AMASF, "amasf")
            .with("accountEnabled", json!(true))
            .with("appId", json!("0c8fa3b6-6a0e-4b8e-a1e3-5f6e7d8c9b0a"))
            .with("appDisplayName", json!("amasf"))
            .with("servicePrincipalType", json!("Application"))
            .with("signInAudience", json!("AzureADMyOrg"))
            .with("servicePrincipalNames", json!(["0c8fa3b6-6a0e-4b8e-a1e3-5f6e7d8c9b0a"])),
        Entity::new(Kind::Device, DEVICE, "ADELE-LAPTOP")
            .with("accountEnabled", json!(true))
            .with("deviceId", json!("7c9e6679-7425-40de-944b-e07fc1f90ae7"))
            .with("operatingSystem", json!("Windows"))
            .with("operatingSystemVersion", json!("10.0.22631"))
            .with("trustType", json!("AzureAd")),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::ids::*;
    use super::*;

    #[test]
    fn seeded_tenant_has_nested_and_polymorphic_memberships() {
        let d = Directory::seeded();
        assert_eq!(d.user("adelev@contoso.com").unwrap().id, ADELE);
        let direct: Vec<Kind> = d.member_of(ADELE).iter().map(|e| e.kind).collect();
        assert!(direct.contains(&Kind::Group));
        assert!(direct.contains(&Kind::DirectoryRole));
        assert!(direct.contains(&Kind::AdministrativeUnit));
        let transitive: Vec<String> = d
            .transitive_member_of(ADELE)
            .iter()
            .map(|e| e.id.clone())
            .collect();
        assert!(transitive.contains(&LICENSING.to_owned()));
        assert!(transitive.contains(&FINANCE.to_owned()));
        assert!(!d.member_of(ADELE).iter().any(|e| e.id == LICENSING));
        assert_eq!(d.manager(ADELE).unwrap().id, SARA);
        assert_eq!(d.count(Kind::User), 12);
    }
}

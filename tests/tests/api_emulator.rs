//! msgraph-typed end to end against the emulator: typed queries, polymorphic memberships via
//! on-behalf-of, create / PATCH (a cleared property sends null) / delete, and delta rounds.

use std::time::Duration;

use futures::TryStreamExt as _;
use msgraph_typed::auth::{
    ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions, OnBehalfOfCredential,
    TokenCredential, UserAssertion,
};
use msgraph_typed::models::{AnyDirectoryObject, AnyUser, PasswordProfile, User, UserField};
use msgraph_typed::{DeltaRequest, GraphClient, PropertyState};
use msgraph_typed_core::{DeltaEvent, DeltaItem};
use msgraph_typed_emulator::{Emulator, seeded};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

fn options(emu: &Emulator) -> CredentialOptions {
    CredentialOptions::default()
        .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
        .with_request_timeout(Duration::from_secs(5))
}

fn graph(emu: &Emulator, credential: impl TokenCredential + 'static) -> GraphClient {
    GraphClient::builder()
        .base_url(&emu.graph_url())
        .credential(credential)
        .scopes([GRAPH_DEFAULT])
        .build()
        .unwrap()
}

fn app(emu: &Emulator) -> GraphClient {
    let credential = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options(emu),
    )
    .unwrap();
    graph(emu, credential)
}

fn user(item: &AnyUser) -> &User {
    match item {
        AnyUser::User(u) | AnyUser::Unknown(u) => u,
        other => panic!("not a plain user: {other:?}"),
    }
}

#[tokio::test]
async fn users_with_select_filter_top_and_count() {
    let emu = Emulator::builder().users(25).start().await.unwrap();
    let client = app(&emu);

    let total = client.users().count().send().await.unwrap();
    assert!(total >= 25, "{total}");

    let page = client
        .users()
        .list()
        .select([
            UserField::Id,
            UserField::DisplayName,
            UserField::UserPrincipalName,
        ])
        .filter("startswith(displayName,'A')")
        .top(2)
        .count(true)
        .send()
        .await
        .unwrap();
    let matching = page.count().expect("@odata.count with $count=true");
    assert!(matching >= 1);
    assert!(page.items().len() <= 2 && !page.items().is_empty());
    for item in page.items() {
        let u = user(item);
        assert!(u.display_name().unwrap().starts_with('A'), "{u:?}");
        assert!(u.id().is_some());
        // Not selected, so not sent.
        assert_eq!(u.property_state("jobTitle"), PropertyState::Absent, "{u:?}");
    }

    // Every user, three per page, through the stream.
    let all: Vec<AnyUser> = client
        .users()
        .list()
        .top(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len() as u64, total);

    // By UPN.
    let adele = client
        .users()
        .by_id("AdeleV@contoso.com")
        .get()
        .send()
        .await
        .unwrap();
    assert_eq!(user(&adele).display_name(), Some("Adele Vance"));
}

#[tokio::test]
async fn member_of_and_transitive_member_of_on_behalf_of_the_user() {
    let emu = Emulator::builder().start().await.unwrap();
    let incoming = emu
        .control()
        .issue_user_token(
            "AdeleV@contoso.com",
            seeded::WEB_API_CLIENT_ID,
            &["access_as_user"],
        )
        .unwrap();
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();
    let client = graph(&emu, obo.for_user(UserAssertion::new(incoming)));

    let me = client.me().get().send().await.unwrap();
    assert_eq!(user(&me).user_principal_name(), Some("AdeleV@contoso.com"));

    let direct: Vec<AnyDirectoryObject> = client
        .me()
        .member_of()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let transitive: Vec<AnyDirectoryObject> = client
        .me()
        .transitive_member_of()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let kinds = |items: &[AnyDirectoryObject]| {
        let mut k: Vec<&str> = items
            .iter()
            .map(|i| match i {
                AnyDirectoryObject::Group(_) => "group",
                AnyDirectoryObject::DirectoryRole(_) => "directoryRole",
                AnyDirectoryObject::AdministrativeUnit(_) => "administrativeUnit",
                AnyDirectoryObject::DirectoryObject(_) | AnyDirectoryObject::Unknown(_) => "other",
                _ => "another known type",
            })
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    assert!(kinds(&direct).contains(&"group"), "{direct:?}");
    assert!(!kinds(&direct).contains(&"other"), "{direct:?}");
    assert!(
        transitive.len() > direct.len(),
        "nested groups add transitive memberships"
    );

    // Casts: only the groups, typed as Group.
    let groups = client
        .me()
        .member_of()
        .groups()
        .list()
        .send()
        .await
        .unwrap();
    let group_count = direct
        .iter()
        .filter(|i| matches!(i, AnyDirectoryObject::Group(_)))
        .count();
    assert_eq!(groups.items().len(), group_count);
    assert!(groups.items().iter().all(|g| g.display_name().is_some()));
    let counted = client
        .me()
        .transitive_member_of()
        .groups()
        .count()
        .send()
        .await
        .unwrap();
    let transitive_groups = transitive
        .iter()
        .filter(|i| matches!(i, AnyDirectoryObject::Group(_)))
        .count();
    assert_eq!(counted as usize, transitive_groups);
}

#[tokio::test]
async fn create_patch_with_null_and_delete_a_user() {
    let emu = Emulator::builder().start().await.unwrap();
    let client = app(&emu);

    let mut password = PasswordProfile::new();
    password
        .set_password("xWwvJ]6NMw+bWH-d")
        .set_force_change_password_next_sign_in(true);
    let mut body = User::new();
    body.set_account_enabled(true)
        .set_display_name("Test User")
        .set_mail_nickname("testuser")
        .set_user_principal_name("testuser@contoso.com")
        .set_mobile_phone("+1 425 555 0100")
        .set_password_profile(password);
    let created = client.users().create(&body).send().await.unwrap();
    let id = user(&created)
        .id()
        .expect("the service assigns an id")
        .to_owned();
    assert_eq!(user(&created).mobile_phone(), Some("+1 425 555 0100"));

    let mut patch = User::new();
    patch.set_mobile_phone(None).set_job_title("Tester");
    client
        .users()
        .by_id(&id)
        .update(&patch)
        .send()
        .await
        .unwrap();

    let after = client
        .users()
        .by_id(&id)
        .get()
        .select([
            UserField::MobilePhone,
            UserField::JobTitle,
            UserField::DisplayName,
        ])
        .send()
        .await
        .unwrap();
    let after = user(&after);
    assert_eq!(
        after.property_state("mobilePhone"),
        PropertyState::Null,
        "cleared by the explicit null"
    );
    assert_eq!(after.job_title(), Some("Tester"));
    assert_eq!(after.display_name(), Some("Test User"), "untouched");

    client.users().by_id(&id).delete().send().await.unwrap();
    let err = client.users().by_id(&id).get().send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn delta_rounds() {
    let emu = Emulator::builder().users(10).start().await.unwrap();
    let client = app(&emu);

    // Initial round: every user, ending with a delta link.
    let events: Vec<DeltaEvent<AnyUser>> = client
        .users()
        .delta()
        .select([UserField::DisplayName, UserField::JobTitle])
        .top(4)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let Some(DeltaEvent::Link(link)) = events.last().cloned() else {
        panic!("a round ends with its delta link: {events:?}");
    };
    let total = client.users().count().send().await.unwrap();
    assert_eq!(events.len() as u64 - 1, total);

    // No change: an empty round with a new link.
    let quiet: Vec<DeltaEvent<AnyUser>> = DeltaRequest::resume(client.client(), link.clone())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(quiet.len(), 1, "{quiet:?}");
    let Some(DeltaEvent::Link(link)) = quiet.last().cloned() else {
        panic!("{quiet:?}");
    };

    // A change is reported in the next round.
    let mut patch = User::new();
    patch.set_job_title("Delta tester");
    client
        .users()
        .by_id("AdeleV@contoso.com")
        .update(&patch)
        .send()
        .await
        .unwrap();
    let changes: Vec<DeltaEvent<AnyUser>> = DeltaRequest::resume(client.client(), link)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let changed: Vec<&User> = changes
        .iter()
        .filter_map(|e| match e {
            DeltaEvent::Item(DeltaItem::Changed(u)) => Some(user(u)),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 1, "{changes:?}");
    assert_eq!(changed[0].job_title(), Some("Delta tester"));
    assert!(matches!(changes.last(), Some(DeltaEvent::Link(_))));
}

/// The ids of a referenced collection's targets.
async fn ids(list: msgraph_typed::CollectionRequest<AnyDirectoryObject>) -> Vec<String> {
    let all: Vec<AnyDirectoryObject> = list.stream().try_collect().await.unwrap();
    all.iter()
        .filter_map(|o| o.id().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn references_add_and_remove_a_member_and_set_the_manager_through_the_typed_api() {
    let emu = Emulator::start().await.unwrap();
    let client = app(&emu);
    let control = emu.control();
    let adele = control.user("AdeleV@contoso.com").unwrap().id;
    let megan = control.user("MeganB@contoso.com").unwrap().id;
    // A group Megan is not in.
    let groups: Vec<msgraph_typed::models::Group> =
        client.groups().list().stream().try_collect().await.unwrap();
    let mut target = None;
    for group in &groups {
        let id = group.id().unwrap().to_string();
        if !ids(client.groups().by_id(&id).members().list())
            .await
            .contains(&megan)
        {
            target = Some(id);
            break;
        }
    }
    let group = target.expect("a group without Megan");
    let members = client.groups().by_id(&group).members();
    let before = members.count().send().await.unwrap();

    // POST /groups/{id}/members/$ref with the member's @odata.id: 204, then she is listed.
    control.reset_counters();
    members.add_ref(&megan).send().await.unwrap();
    assert_eq!(
        control.requests_to(&format!("/v1.0/groups/{group}/members/$ref")),
        1
    );
    assert!(ids(members.list()).await.contains(&megan));
    assert_eq!(members.count().send().await.unwrap(), before + 1);
    // The same reference again: Graph's 400.
    let error = members.add_ref(&megan).send().await.unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::BAD_REQUEST),
        "{error}"
    );
    // The typed casts that can occur there: Megan is among the users.
    let users: Vec<AnyUser> = members.users().list().stream().try_collect().await.unwrap();
    assert!(users.iter().any(|u| u.id() == Some(megan.as_str())));
    // DELETE /groups/{id}/members/{member}/$ref: 204, then she is gone; the user remains.
    members.by_id(&megan).remove_ref().send().await.unwrap();
    assert!(!ids(members.list()).await.contains(&megan));
    assert_eq!(members.count().send().await.unwrap(), before);
    assert!(client.users().by_id(&megan).get().send().await.is_ok());

    // The manager: PUT .../manager/$ref, GET .../manager, DELETE .../manager/$ref.
    let manager = client.users().by_id(&megan).manager();
    manager.set_ref(&adele).send().await.unwrap();
    let got = manager.get().send().await.unwrap();
    assert_eq!(got.id(), Some(adele.as_str()));
    assert!(
        ids(client.users().by_id(&adele).direct_reports().list())
            .await
            .contains(&megan)
    );
    manager.remove_ref().send().await.unwrap();
    let error = manager.get().send().await.unwrap_err();
    assert!(error.is_not_found(), "{error}");

    // Read-only references and their casts: Adele's groups, counted through the cast.
    let groups_of_adele = client
        .users()
        .by_id(&adele)
        .member_of()
        .groups()
        .count()
        .send()
        .await
        .unwrap();
    assert!(groups_of_adele >= 1);
}

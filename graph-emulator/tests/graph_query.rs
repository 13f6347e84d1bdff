//! OData query options and Graph's advanced-query rules: exact error codes and messages, `$count`,
//! casts, `$search`, `$expand`, `$select`.

mod graph_support;

use graph_support::*;
use serde_json::json;

#[tokio::test]
async fn top_limits_and_select_and_filter_errors() {
    let env = env().await;
    let r = env.get("users?$top=1000").await;
    assert_eq!(
        r.assert_error(400, "Request_BadRequest"),
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    env.get("users?$top=0")
        .await
        .assert_error(400, "Request_BadRequest");
    env.get("users?$top=ten")
        .await
        .assert_error(400, "BadRequest");
    assert_eq!(env.get("users?$top=999").await.status, 200);
    let r = env.get("users?$select=displayName,shoeSize").await;
    assert_eq!(
        r.assert_error(400, "Request_BadRequest"),
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    );
    for bad in [
        "displayName eq",
        "startswith(displayName 'a')",
        "displayName eq 'a' and",
        "(displayName eq 'a'",
        "displayName %% 'a'",
    ] {
        let r = env
            .get(&format!("users?$filter={}", bad.replace('%', "%25")))
            .await;
        let message = r.assert_error(400, "BadRequest");
        assert!(
            message.starts_with("Invalid filter clause"),
            "{bad}: {message}"
        );
    }
    env.get("users?$filter=shoeSize eq 4")
        .await
        .assert_error(400, "Request_BadRequest");
    env.get("users?$skip=5")
        .await
        .assert_error(400, "Request_BadRequest");
    env.get("users?$unknown=5")
        .await
        .assert_error(400, "BadRequest");
    env.get("users?$top=1&$top=2")
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn default_page_size_and_select() {
    let env = env_with(150).await;
    let r = env.get("users").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 100);
    assert!(r.body["@odata.nextLink"].is_string());
    let r = env.get("users?$select=displayName,mail&$top=3").await;
    assert!(
        r.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,mail)")
    );
    for u in r.body["value"].as_array().unwrap() {
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["displayName", "mail"]);
    }
    // Lower-case names are accepted and answered with the canonical spelling.
    let r = env.get(&format!("users/{ADELE}?$select=DISPLAYNAME")).await;
    assert_eq!(r.body["displayName"], "Adele Vance");
}

#[tokio::test]
async fn advanced_queries_need_consistency_level_and_count() {
    let env = env().await;
    let endswith = "users?$filter=endswith(mail,'@contoso.com')";
    assert_eq!(
        env.get(endswith)
            .await
            .assert_error(400, "Request_UnsupportedQuery"),
        "Unsupported Query."
    );
    env.get_eventual(endswith)
        .await
        .assert_error(400, "Request_UnsupportedQuery");
    env.get(&format!("{endswith}&$count=true"))
        .await
        .assert_error(400, "Request_UnsupportedQuery");
    let ok = env.get_eventual(&format!("{endswith}&$count=true")).await;
    assert_eq!(ok.status, 200);
    let n = ok.body["@odata.count"].as_u64().unwrap();
    assert_eq!(n as usize, ok.body["value"].as_array().unwrap().len());
    for advanced in [
        "users?$filter=jobTitle ne null",
        "users?$filter=not(startswith(displayName,'A'))",
    ] {
        env.get(advanced)
            .await
            .assert_error(400, "Request_UnsupportedQuery");
        assert_eq!(
            env.get_eventual(&format!("{advanced}&$count=true"))
                .await
                .status,
            200
        );
    }
    let r = env
        .get("applications?$search=\"displayName:Browser\"")
        .await;
    assert_eq!(
        r.assert_error(400, "Request_UnsupportedQuery"),
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
    );
    let r = env.get("users/$count").await;
    assert_eq!(
        r.assert_error(400, "Request_BadRequest"),
        "$count is not currently supported."
    );
    env.get(&format!("users/{MEGAN}/memberOf/$count"))
        .await
        .assert_error(400, "Request_BadRequest");
    // Filter plus orderby is an advanced query too.
    env.get("users?$filter=startswith(displayName,'a')&$orderby=displayName")
        .await
        .assert_error(400, "Request_UnsupportedQuery");
}

#[tokio::test]
async fn filters_select_the_right_objects() {
    let env = env().await;
    let names = |r: &Resp| -> Vec<String> {
        r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = env.get("users?$filter=startswith(displayName,'a')").await;
    assert_eq!(names(&r), ["Adele Vance"]);
    let r = env
        .get("users?$filter=userPrincipalName in ('admin@contoso.com','GradyA@contoso.com')")
        .await;
    let mut got = names(&r);
    got.sort();
    assert_eq!(got, ["Grady Archie", "MOD Administrator"]);
    let r = env.get("users?$filter=jobTitle eq 'Finance VP' or (givenName eq 'Megan' and accountEnabled eq true)").await;
    let mut got = names(&r);
    got.sort();
    assert_eq!(got, ["Megan Bowen", "Sara Davis"]);
    let r = env
        .get("groups?$filter=groupTypes/any(c:c eq 'Unified')")
        .await;
    let mut got = names(&r);
    got.sort();
    assert_eq!(got, ["Golf Assist", "Library Assist"]);
    let r = env
        .get_eventual("users?$filter=userType ne 'Member'&$count=true")
        .await;
    assert_eq!(r.body["@odata.count"], 1);
    let r = env
        .get_eventual(
            "users?$search=\"displayName:vance\" OR \"mail:grady\"&$orderby=displayName desc",
        )
        .await;
    assert_eq!(names(&r), ["Grady Archie", "Adele Vance"]);
    let r = env
        .get_eventual("users/$count?$filter=startswith(mail,'a')")
        .await;
    assert_eq!(r.body, json!(2));
}

#[tokio::test]
async fn casts_change_the_collection_type() {
    let env = env().await;
    let all = env.get(&format!("users/{ADELE}/memberOf")).await;
    assert!(
        all.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#directoryObjects")
    );
    let mut types: Vec<&str> = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["@odata.type"].as_str().unwrap())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "#microsoft.graph.administrativeUnit",
            "#microsoft.graph.directoryRole",
            "#microsoft.graph.group"
        ]
    );
    let groups = env
        .get(&format!("users/{ADELE}/memberOf/microsoft.graph.group"))
        .await;
    assert!(
        groups.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#groups")
    );
    assert!(
        groups.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g.get("@odata.type").is_none() && g["securityEnabled"].is_boolean())
    );
    let n_groups = groups.body["value"].as_array().unwrap().len();
    let count = env
        .get_eventual(&format!(
            "users/{ADELE}/memberOf/microsoft.graph.group/$count"
        ))
        .await;
    assert_eq!(count.body, json!(n_groups));
    let transitive = env
        .get_eventual(&format!(
            "users/{ADELE}/transitiveMemberOf/microsoft.graph.group/$count"
        ))
        .await;
    assert!(transitive.body.as_u64().unwrap() > n_groups as u64);
    let members = env
        .get(&format!(
            "groups/{TIER}/members/microsoft.graph.user?$select=displayName,id"
        ))
        .await;
    assert!(
        members.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,id)")
    );
    assert_eq!(
        members.body["value"].as_array().unwrap().len(),
        2,
        "the service principal is filtered out"
    );
    let sps = env
        .get(&format!(
            "groups/{TIER}/members/microsoft.graph.servicePrincipal"
        ))
        .await;
    assert_eq!(sps.body["value"].as_array().unwrap().len(), 1);
    env.get(&format!("users/{ADELE}/memberOf/microsoft.graph.spaceship"))
        .await
        .assert_error(400, "BadRequest");
    env.get(&format!("users/{ADELE}/members"))
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn expand_manager_and_unknown_paths() {
    let env = env().await;
    let r = env
        .get("users?$expand=manager&$filter=startswith(displayName,'Adele')")
        .await;
    assert_eq!(r.body["value"][0]["manager"]["id"], SARA);
    assert_eq!(
        r.body["value"][0]["manager"]["@odata.type"],
        "#microsoft.graph.user"
    );
    let r = env.get(&format!("users/{ADELE}?$expand=photo")).await;
    assert_eq!(
        r.assert_error(400, "ExpandNotSupported"),
        "Expand is not allowed for property 'Photo' according to the entity schema."
    );
    env.get("users?$expand=nonsense")
        .await
        .assert_error(400, "BadRequest");
    env.get("spaceships").await.assert_error(400, "BadRequest");
    env.get(&format!("users/{ADELE}/spaceships"))
        .await
        .assert_error(400, "BadRequest");
    let r = env
        .send(reqwest::Method::PUT, "users", &env.app, &[], None)
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn delta_latest_and_bad_tokens() {
    let env = env().await;
    let latest = env.get("users/delta?$deltatoken=latest").await;
    assert_eq!(latest.body["value"], json!([]));
    let link = latest.body["@odata.deltaLink"].as_str().unwrap().to_owned();
    assert_eq!(env.get(&link).await.body["value"], json!([]));
    env.patch(
        &format!("users/{ADELE}"),
        &json!({"officeLocation": "20/1101"}),
    )
    .await;
    let round = env.get(&link).await;
    assert_eq!(round.body["value"][0]["id"], ADELE);
    assert_eq!(round.body["value"][0]["officeLocation"], "20/1101");
    // With Prefer: return=minimal an update reports only the written properties, explicit nulls kept.
    let link = round.body["@odata.deltaLink"].as_str().unwrap().to_owned();
    env.patch(
        &format!("users/{ADELE}"),
        &json!({"jobTitle": null, "mobilePhone": "+1 555"}),
    )
    .await;
    let minimal = env
        .send(
            reqwest::Method::GET,
            &link,
            &env.app,
            &[("Prefer", "return=minimal")],
            None,
        )
        .await;
    assert_eq!(
        minimal.body["value"],
        json!([{"id": ADELE, "jobTitle": null, "mobilePhone": "+1 555"}])
    );
    let full = env.get(&link).await;
    assert_eq!(full.body["value"][0]["displayName"], "Adele Vance");
    let users_token = link.split("$deltatoken=").nth(1).unwrap();
    env.get(&format!("groups/delta?$deltatoken={users_token}"))
        .await
        .assert_error(400, "Directory_ExpiredPageToken");
    env.get("users/delta?$deltatoken=garbage")
        .await
        .assert_error(400, "Directory_ExpiredPageToken");
    env.get("users/delta?$filter=startswith(displayName,'a')")
        .await
        .assert_error(400, "Request_UnsupportedQuery");
    let groups = env.get("groups/delta?$select=displayName").await;
    let first = &groups.body["value"][0];
    assert!(
        first["members@delta"].is_array()
            && first["displayName"].is_string()
            && first.get("mail").is_none()
    );
}

#[tokio::test]
async fn garbage_input_gets_4xx_and_never_breaks_the_server() {
    let env = env().await;
    let deep = format!("{}displayName eq 'x'{}", "(".repeat(1000), ")".repeat(1000));
    let long = vec!["displayName eq 'x'"; 500].join(" and ");
    let paths = [
        format!("users?$filter={deep}"),
        format!("users?$filter={long}"),
        "users?$filter=%FF%FE".to_owned(),
        "users/%C3%28".to_owned(),
        "users?$orderby=".to_owned(),
        "users?$search=".to_owned(),
        "users?$search=%22displayName%22".to_owned(),
        "users?$expand=manager(".to_owned(),
        "users?$expand=manager($top=1)".to_owned(),
        "users?$top=99999999999".to_owned(),
        "users/delta?$skiptoken=%00".to_owned(),
        format!("users/{ADELE}/memberOf/microsoft.graph.group/$count/extra"),
        "groups/%2F%2F/members".to_owned(),
        "directoryObjects/getByIds".to_owned(),
        "$batch".to_owned(),
    ];
    for path in &paths {
        let r = env.get_eventual(path).await;
        assert!(
            (400..500).contains(&r.status),
            "{path}: {} {:#}",
            r.status,
            r.body
        );
    }
    for body in [
        json!([]),
        json!("x"),
        json!({"ids": "nope"}),
        json!({"ids": [1, 2]}),
    ] {
        let r = env.post("directoryObjects/getByIds", &body).await;
        assert_eq!(r.status, 400, "{body}");
        let r = env.post("$batch", &body).await;
        assert_eq!(r.status, 400, "{body}");
    }
    assert_eq!(env.get("users?$top=1").await.status, 200, "still serving");
}

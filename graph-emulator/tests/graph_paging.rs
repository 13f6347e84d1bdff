//! Paging at scale: 100,000 generated users page with `$top=999` exactly once each, with the count on
//! the first page only; ordered paging is stable across pages.

mod graph_support;

use std::collections::HashSet;
use std::time::Instant;

use graph_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_users_page_exactly_once() {
    let started = Instant::now();
    let env = env_with(100_000).await;
    let generated = started.elapsed();
    let total = 100_000 + 12;
    let count = env.get_eventual("users/$count").await;
    assert!(
        count
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(count.body.as_u64(), Some(total as u64), "{:?}", count.body);
    let (items, pages) = env
        .all_pages(
            "users?$top=999&$select=id,displayName&$count=true",
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(items.len(), total);
    assert_eq!(pages, total.div_ceil(999));
    let ids: HashSet<&str> = items
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), total, "every id exactly once");
    let first = env
        .send(
            reqwest::Method::GET,
            "users?$top=999&$count=true",
            &env.app,
            &[("ConsistencyLevel", "eventual")],
            None,
        )
        .await;
    assert_eq!(first.body["@odata.count"], total);
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(999));
    eprintln!(
        "generated in {generated:?}, paged in {:?}",
        started.elapsed() - generated
    );
}

#[tokio::test]
async fn ordered_pages_are_sorted_and_complete() {
    let env = env_with(500).await;
    for (order, descending) in [("displayName", false), ("userPrincipalName desc", true)] {
        let (items, pages) = env
            .all_pages(&format!("users?$orderby={order}&$top=37"), &[])
            .await;
        assert_eq!(items.len(), 512);
        assert_eq!(pages, 512usize.div_ceil(37));
        let field = order.split(' ').next().unwrap();
        let keys: Vec<String> = items
            .iter()
            .map(|u| u[field].as_str().unwrap().to_lowercase())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if descending {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{order}");
        let ids: HashSet<&str> = items.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 512);
    }
}

#[tokio::test]
async fn filtered_pages_with_count_and_search() {
    let env = env_with(2_000).await;
    let headers = [("ConsistencyLevel", "eventual")];
    let first = env
        .send(
            reqwest::Method::GET,
            "users?$filter=startswith(givenName,'Alex')&$count=true&$top=10",
            &env.app,
            &headers,
            None,
        )
        .await;
    let count = first.body["@odata.count"].as_u64().expect("count") as usize;
    assert!(count > 10, "{count}");
    let (items, _) = env
        .all_pages(
            "users?$filter=startswith(givenName,'Alex')&$count=true&$top=10",
            &headers,
        )
        .await;
    assert_eq!(items.len(), count);
    assert!(items.iter().all(|u| u["givenName"] == "Alex"));
    // A next link is only valid with the same query: tampering with it is refused.
    let next = first.body["@odata.nextLink"]
        .as_str()
        .unwrap()
        .replace("Alex", "Bianca");
    let r = env
        .send(reqwest::Method::GET, &next, &env.app, &headers, None)
        .await;
    r.assert_error(400, "Directory_ExpiredPageToken");
    let garbage = env.get("users?$skiptoken=not-a-token").await;
    garbage.assert_error(400, "Directory_ExpiredPageToken");
}

#[tokio::test]
async fn deleted_user_between_pages_is_neither_repeated_nor_skipping_others() {
    let env = env_with(50).await;
    let first = env.get("users?$top=10&$select=id").await;
    let seen: Vec<String> = first.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    // Delete the last user of page one and one not yet seen.
    let (items, _) = env.all_pages("users?$top=62&$select=id", &[]).await;
    let unseen = items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .find(|id| !seen.contains(id))
        .unwrap();
    assert_eq!(env.delete(&format!("users/{}", seen[9])).await.status, 204);
    assert_eq!(env.delete(&format!("users/{unseen}")).await.status, 204);
    let (rest, _) = env
        .all_pages(first.body["@odata.nextLink"].as_str().unwrap(), &[])
        .await;
    let rest_ids: HashSet<String> = rest
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rest.len(), 62 - 10 - 1);
    assert!(seen.iter().all(|id| !rest_ids.contains(id)));
    assert!(!rest_ids.contains(&unseen));
}

//! Property tests: the generated models' one-pass readers (and the `AnyX` choice by
//! `@odata.type`) survive arbitrary bytes and mutated real samples with a typed error, never a
//! panic, and without allocating more than a small multiple of their input (this binary's
//! allocator aborts past a cap set around each case).
#![cfg(feature = "identity")]

#[path = "../../testdata/fuzz_support.rs"]
mod fuzz_support;

use msgraph_typed_models::models::{AnyDirectoryObject, AnyUser, Group, User};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` with allocations capped at 64 bytes per input byte plus 4 MiB.
fn bounded<T>(input_len: usize, work: impl FnOnce() -> T) -> T {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + 64 * input_len + 4 * 1024 * 1024)
        .unwrap();
    let out = work();
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    out
}

/// Reads `bytes` as `T` from a slice and from a reader; both must agree on success or failure,
/// and a success must serialise again.
fn read<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let from_slice = serde_json::from_slice::<T>(bytes);
    let from_reader = serde_json::from_reader::<_, T>(bytes);
    prop_assert_eq!(from_slice.is_ok(), from_reader.is_ok());
    if let Ok(value) = from_slice {
        prop_assert!(serde_json::to_vec(&value).is_ok());
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_support::config())]

    #[test]
    fn models_never_panic(bytes in fuzz_support::hostile_bytes()) {
        bounded(bytes.len(), || {
            read::<AnyDirectoryObject>(&bytes)?;
            read::<AnyUser>(&bytes)?;
            read::<User>(&bytes)?;
            read::<Group>(&bytes)?;
            read::<Vec<AnyDirectoryObject>>(&bytes)?;
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn items_of_mutated_pages_never_panic(bytes in fuzz_support::mutated_sample()) {
        // The items of a page, one by one, as the pipeline hands them out.
        bounded(bytes.len(), || {
            if let Ok(serde_json::Value::Object(page)) = serde_json::from_slice(&bytes)
                && let Some(serde_json::Value::Array(items)) = page.get("value")
            {
                for item in items {
                    let text = serde_json::to_vec(item).unwrap_or_default();
                    read::<AnyDirectoryObject>(&text)?;
                    read::<AnyUser>(&text)?;
                }
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

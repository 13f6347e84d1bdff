//! The change log behind delta queries: every create, update, delete and membership change gets the next
//! value of a monotonic sequence, so a delta token (a sequence number) can ask "what changed since then".

use super::Kind;

/// What happened to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeOp {
    /// Created (`None`) or updated (the names of the properties written): the object's current state is
    /// reported; with `Prefer: return=minimal`, only the written properties of an update.
    Upsert(Option<Vec<String>>),
    /// Deleted. `permanent: false` is Graph's soft delete (`@removed.reason = "changed"`: restorable),
    /// `true` a permanent one (`"deleted"`).
    Removed {
        /// Whether the deletion is permanent.
        permanent: bool,
    },
    /// A member (by id and kind) was added to this group.
    MemberAdded(String, Kind),
    /// A member (by id and kind) was removed from this group.
    MemberRemoved(String, Kind),
}

/// One entry of the log.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// Sequence number (strictly increasing).
    pub seq: u64,
    /// Kind of the changed object.
    pub kind: Kind,
    /// Id of the changed object.
    pub id: String,
    /// What happened.
    pub op: ChangeOp,
}

/// The append-only change log.
#[derive(Debug, Default)]
pub(crate) struct DeltaLog {
    seq: u64,
    entries: Vec<Change>,
}

impl DeltaLog {
    /// Appends a change and returns its sequence number.
    pub fn record(&mut self, kind: Kind, id: &str, op: ChangeOp) -> u64 {
        self.seq += 1;
        self.entries.push(Change {
            seq: self.seq,
            kind,
            id: id.to_owned(),
            op,
        });
        self.seq
    }

    /// The sequence number of the latest change (0 when nothing happened yet).
    pub fn current(&self) -> u64 {
        self.seq
    }

    /// The changes with a sequence number in `(after, upto]`, oldest first.
    pub fn between(&self, after: u64, upto: u64) -> &[Change] {
        let start = self.entries.partition_point(|c| c.seq <= after);
        let end = self.entries.partition_point(|c| c.seq <= upto);
        self.entries.get(start..end).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_selects_the_half_open_range() {
        let mut log = DeltaLog::default();
        for i in 0..5 {
            log.record(Kind::User, &format!("u{i}"), ChangeOp::Upsert(None));
        }
        assert_eq!(log.current(), 5);
        let ids: Vec<_> = log.between(2, 4).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["u2", "u3"]);
        assert!(log.between(5, 5).is_empty());
        assert!(log.between(4, 2).is_empty());
    }
}

//! What a [`Member`](super::Member) operation did, queued for the caller to show.

use std::fmt;

/// Something that happened, for the caller to show.
#[derive(Debug, Clone)]
pub enum Event {
    /// We joined a group (Welcome or external commit).
    Joined {
        /// Local group name.
        group: String,
        /// Epoch after joining.
        epoch: u64,
        /// Member count.
        members: usize,
        /// How: "welcome" or "external commit".
        how: &'static str,
    },
    /// An application message.
    Message {
        /// Local group name.
        group: String,
        /// Sender's client id.
        sender: String,
        /// The text (lossy UTF-8).
        text: String,
    },
    /// A commit took effect (ours or another member's).
    Commit {
        /// An external commit: the committer joined with it.
        external: bool,
        /// Local group name.
        group: String,
        /// The new epoch.
        epoch: u64,
        /// Member count.
        members: usize,
        /// Who committed.
        committer: String,
        /// Clients added.
        added: Vec<String>,
        /// Clients removed.
        removed: Vec<String>,
        /// Members whose leaves were updated (excluding the committer's own path).
        updated: Vec<String>,
    },
    /// A proposal was received.
    Proposal {
        /// Local group name.
        group: String,
        /// Who proposed.
        sender: String,
        /// What.
        description: String,
    },
    /// We are no longer a member.
    Removed {
        /// Local group name.
        group: String,
    },
    /// Something went wrong but the operation went on.
    Warning(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Joined {
                group,
                epoch,
                members,
                how,
            } => write!(
                f,
                "[{group}] joined by {how} at epoch {epoch} ({members} members)"
            ),
            Event::Message {
                group,
                sender,
                text,
            } => write!(f, "[{group}] {sender}: {text}"),
            Event::Commit {
                external,
                group,
                epoch,
                members,
                committer,
                added,
                removed,
                updated,
            } => {
                if *external {
                    write!(
                        f,
                        "[{group}] epoch {epoch}: {committer} joined by external commit"
                    )?;
                    return write!(f, " ({members} members)");
                }
                write!(f, "[{group}] epoch {epoch}: {committer} committed")?;
                if !added.is_empty() {
                    write!(f, ", added {}", added.join(", "))?;
                }
                if !removed.is_empty() {
                    write!(f, ", removed {}", removed.join(", "))?;
                }
                if !updated.is_empty() {
                    write!(f, ", updated {}", updated.join(", "))?;
                }
                if added.is_empty() && removed.is_empty() && updated.is_empty() {
                    write!(f, " a key update")?;
                }
                write!(f, " ({members} members)")
            }
            Event::Proposal {
                group,
                sender,
                description,
            } => write!(f, "[{group}] {sender} proposes {description}"),
            Event::Removed { group } => write!(f, "[{group}] you are no longer a member"),
            Event::Warning(w) => write!(f, "warning: {w}"),
        }
    }
}

//! The live Zimbra directory over LDAP, as `zmprov -l` reaches it.
//!
//! * [`Settings`]: where and how to connect, from the host's
//!   localconfig.xml (`ldap_url` replicas in order, `ldap_master_url` for
//!   writes, `zimbra_ldap_userdn`/`zimbra_ldap_password`, StartTLS or
//!   ldaps as localconfig says) with flags taking precedence.
//! * [`LdapDirectory`]: a [`crate::directory::Directory`] that reads with
//!   paged results, streams, and lets the server select the entries that
//!   may hold an address.
//! * [`LdapWriter`]: a [`crate::directory::DirectoryWriter`] making
//!   value-level modifies guarded by the Assertion control.
//!
//! Every connection and operation has a timeout. The bind password lives
//! in a [`Secret`] and appears in no message.

mod conn;
mod scan;
mod schema;
mod settings;
mod write;

pub use scan::LdapDirectory;
pub use settings::{DEFAULT_BIND_DN, Overrides, Secret, Settings};
pub use write::{LdapWriter, rollback_edits};

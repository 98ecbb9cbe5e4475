//! MySQL and MariaDB driver for strata.
//!
//! - [`MySqlTarget`] parses `mysql://` and `mariadb://` URLs and connects with libpq's
//!   `sslmode` (TLS over rustls);
//! - [`MySqlSplitter`] splits files like the `mysql` client (`DELIMITER` blocks) and marks the
//!   statements that commit implicitly;
//! - [`MySqlDriver`] runs migrations, keeps the history table, serialises deployers with
//!   `GET_LOCK`, bounds lock waits with `lock_wait_timeout` and names the blocking sessions, and
//!   runs online backfills (reading replication lag on the replicas it is given).

mod backfill;
mod driver;
mod errors;
mod foreign;
mod history;
mod introspect;
mod lock;
mod replicas;
mod scratch;
mod split;
mod target;
mod waits;

pub use driver::MySqlDriver;
pub use errors::ConnectError;
pub use scratch::{ScratchDatabase, ScratchError};
pub use split::MySqlSplitter;
pub use target::{Flavor, MySqlTarget, TargetError};

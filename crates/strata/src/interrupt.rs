//! Cleanup when the user presses Ctrl-C (or the process gets SIGTERM) while a scratch database
//! exists: the default action would end the process without running any destructor, leaving
//! the database behind on the server.

use std::sync::{Mutex, Once};

use tokio::signal::unix::{SignalKind, signal};

type Cleanup = Box<dyn FnOnce() + Send>;

/// What to run on an interrupt; set while a scratch database exists.
static CLEANUP: Mutex<Option<Cleanup>> = Mutex::new(None);

static WATCHER: Once = Once::new();

/// Runs `cleanup` (then exits 130) if the process is interrupted before this guard is dropped.
#[must_use = "the cleanup is forgotten when the guard is dropped"]
pub(crate) struct CleanupOnInterrupt(());

pub(crate) fn on_interrupt(cleanup: impl FnOnce() + Send + 'static) -> CleanupOnInterrupt {
    *CLEANUP.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(cleanup));
    WATCHER.call_once(start_watcher);
    CleanupOnInterrupt(())
}

impl Drop for CleanupOnInterrupt {
    fn drop(&mut self) {
        CLEANUP.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Registers the signal handlers on this thread (so no signal is missed), then waits for one on
/// another thread.
fn start_watcher() {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return;
    };
    let signals = {
        let _context = runtime.enter();
        signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
    };
    let Ok((mut interrupt, mut terminate)) = signals else {
        return;
    };
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        });
        // Held until the process exits: a main thread that finishes meanwhile blocks in the
        // guard's drop instead of exiting with its own code half-way through the cleanup.
        let mut slot = CLEANUP.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cleanup) = slot.take() {
            eprintln!("interrupted: dropping the scratch database");
            cleanup();
        }
        std::process::exit(130);
    });
}

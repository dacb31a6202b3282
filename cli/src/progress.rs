//! The progress indicator of the long waits (`onboard`, `doctor`, `redrive`): a spinner with the current
//! step and the seconds elapsed, redrawn ten times a second on stderr — only when stderr is a terminal.
//! Piped or redirected, nothing is drawn (scripts and `--json` consumers see only the result and errors).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK: Duration = Duration::from_millis(100);
/// Clears the terminal line the cursor is on.
const CLEAR_LINE: &str = "\r\x1b[2K";

struct State {
    message: String,
    out: Box<dyn Write + Send>,
}

/// A running indicator; [`Spinner::finish`] (or dropping it) clears its line.
pub struct Spinner {
    state: Option<Arc<Mutex<State>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// On stderr, drawn only if stderr is a terminal.
    pub fn stderr(message: impl Into<String>) -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Self::drawing_to(Box::new(std::io::stderr()), message)
        } else {
            Self::hidden()
        }
    }

    /// An indicator that draws nothing (not a terminal).
    pub fn hidden() -> Self {
        Self {
            state: None,
            stop: Arc::new(AtomicBool::new(true)),
            thread: None,
        }
    }

    /// Draws to `out` (a terminal in practice; any writer in tests).
    pub fn drawing_to(out: Box<dyn Write + Send>, message: impl Into<String>) -> Self {
        let state = Arc::new(Mutex::new(State {
            message: message.into(),
            out,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut frame = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    {
                        let mut state = lock(&state);
                        let glyph = FRAMES.get(frame % FRAMES.len()).copied().unwrap_or('*');
                        let line = format!(
                            "{CLEAR_LINE}{glyph} {} ({}s)",
                            state.message,
                            started.elapsed().as_secs()
                        );
                        let _ = state.out.write_all(line.as_bytes());
                        let _ = state.out.flush();
                    }
                    frame = frame.wrapping_add(1);
                    std::thread::sleep(TICK);
                }
            })
        };
        Self {
            state: Some(state),
            stop,
            thread: Some(thread),
        }
    }

    /// Whether anything is drawn.
    pub fn is_drawing(&self) -> bool {
        self.state.is_some()
    }

    /// Changes the text beside the spinner.
    pub fn set(&self, message: impl Into<String>) {
        if let Some(state) = &self.state {
            lock(state).message = message.into();
        }
    }

    /// Prints a finished step above the spinner (`• text`), which goes on below it.
    pub fn println(&self, text: &str) {
        if let Some(state) = &self.state {
            let mut state = lock(state);
            let line = format!("{CLEAR_LINE}• {text}\n");
            let _ = state.out.write_all(line.as_bytes());
            let _ = state.out.flush();
        }
    }

    /// Stops and clears the line.
    pub fn finish(mut self) {
        self.stop_and_clear();
    }

    fn stop_and_clear(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(state) = self.state.take() {
            let mut state = lock(&state);
            let _ = state.out.write_all(CLEAR_LINE.as_bytes());
            let _ = state.out.flush();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop_and_clear();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[test]
    fn draws_frames_with_the_message_prints_steps_and_clears_its_line() {
        let out = Captured::default();
        let spinner = Spinner::drawing_to(Box::new(out.clone()), "checking the token");
        assert!(spinner.is_drawing());
        std::thread::sleep(TICK * 3);
        spinner.println("token: pass");
        spinner.set("checking the phone number");
        std::thread::sleep(TICK * 3);
        spinner.finish();
        let text = out.text();
        assert!(text.contains("⠋ checking the token (0s)"), "{text:?}");
        assert!(text.contains("\r\x1b[2K• token: pass\n"), "{text:?}");
        assert!(text.contains("checking the phone number (0s)"), "{text:?}");
        assert!(text.ends_with(CLEAR_LINE), "{text:?}");
        let frames = FRAMES.iter().filter(|frame| text.contains(**frame)).count();
        assert!(frames >= 3, "the spinner moved: {text:?}");
    }

    #[test]
    fn a_hidden_indicator_draws_nothing() {
        let spinner = Spinner::hidden();
        assert!(!spinner.is_drawing());
        spinner.set("x");
        spinner.println("y");
        spinner.finish();
    }
}

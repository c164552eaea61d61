//! Talking to a person: prompts only when stdin and stderr are a terminal (a script gets a
//! clear error instead of a hang), passwords without echo, progress bars on stderr only and
//! only on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

use super::exit::Failure;

/// Whether a person is there to answer.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A line typed at a prompt; a usage error naming `flag` when nobody can answer.
pub fn ask(question: &str, flag: &str) -> Result<String, Failure> {
    if !interactive() {
        return Err(Failure::Usage(format!("no terminal to ask for {question}: pass {flag}")));
    }
    eprint!("{question}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// A secret typed without echo.
pub fn ask_secret(question: &str, flag: &str) -> Result<String, Failure> {
    if !interactive() {
        return Err(Failure::Usage(format!("no terminal to ask for {question}: pass {flag}")));
    }
    rpassword::prompt_password(format!("{question}: ")).map_err(Failure::from)
}

/// `count` lines of standard input (passwords given by a script).
pub fn stdin_lines(count: usize, what: &str) -> Result<Vec<String>, Failure> {
    let mut lines = Vec::with_capacity(count);
    let stdin = std::io::stdin();
    let mut handle = stdin.lock();
    for _ in 0..count {
        let mut line = String::new();
        if handle.read_line(&mut line)? == 0 {
            return Err(Failure::Usage(format!("standard input ended before the {what}")));
        }
        lines.push(line.trim_end_matches(['\r', '\n']).to_string());
    }
    Ok(lines)
}

/// A progress bar of `len` units on stderr (a spinner with a message when the length is not
/// known); hidden unless stderr is a terminal, and cleared when dropped.
pub fn progress(len: Option<u64>, message: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    let bar = bar.with_finish(ProgressFinish::AndClear);
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    bar.set_draw_target(target);
    bar.set_message(message.to_string());
    bar
}

/// A byte-count progress bar for downloads.
pub fn download(len: Option<u64>, message: &str) -> ProgressBar {
    let bar = progress(len, message);
    if len.is_some() {
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
    }
    bar
}

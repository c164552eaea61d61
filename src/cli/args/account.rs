//! Flags of the account commands: setup, login, register, password, MFA, sessions.

use clap::{Args, Subcommand};

/// A username and a password (prompted without echo on a terminal).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  reserver setup --username admin\n  \
                        printf '%s\\n' \"$PASSWORD\" | reserver register --username ada --password-stdin")]
pub struct CredentialArgs {
    /// Account name (prompted on a terminal when missing).
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  reserver login --url https://reserver.example.com --username ada\n  \
                        printf '%s\\n' \"$PASSWORD\" | reserver login -u ci-bot --password-stdin\n  \
                        reserver --profile staging login")]
pub struct LoginArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// One-time code (TOTP or backup code) for an account with MFA; prompted on a terminal.
    #[arg(long)]
    pub code: Option<String>,
}

/// `auth login|logout|register`, as the old client named them.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    Login(LoginArgs),
    Logout,
    Register(CredentialArgs),
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Change your password (current one required).
    #[command(
        after_help = "With --password-stdin, the first line is the current password and the second the new one."
    )]
    Change {
        /// Read both passwords from standard input, one per line.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Start MFA setup: prints the secret and the otpauth:// URI for an authenticator app.
    Setup {
        /// Also write the QR code (SVG) to this file.
        #[arg(long)]
        qr: Option<std::path::PathBuf>,
    },
    /// Turn MFA on with a code from the app; prints the one-time backup codes.
    Enable {
        /// The 6-digit code the app shows now.
        code: String,
    },
    /// Turn MFA off (a current code, or the password).
    Disable {
        /// A current code; without it, the password is asked.
        #[arg(long)]
        code: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// New backup codes; the old ones stop working.
    BackupCodes,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Your sessions: where and when they were used.
    List,
    /// End a session (its tokens stop working), or every other one.
    Revoke {
        /// The session's id.
        #[arg(required_unless_present = "others")]
        id: Option<String>,
        /// Revoke every session but this one.
        #[arg(long, conflicts_with = "id")]
        others: bool,
    },
}

//! The client commands: each noun's module calls the public REST API through
//! `reserver-client` and prints through [`Output`]. [`Ctx`] resolves the server, the profile,
//! the session and the zone once per run.

use std::future::Future;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reserver_client::{Client, Page, PageRequest, Resource, ResourceFilter, Session};
use uuid::Uuid;

use super::args::{AuthCommand, Command, GlobalArgs, PageArgs};
use super::exit::Failure;
use super::output::Output;
use super::profile::{ProfileSessions, Store, DEFAULT_PROFILE, DEFAULT_URL};
use super::when;

mod account;
mod admin;
mod booking;
mod catalog;
mod events;
mod integrations;
pub mod meta;
mod reservations;
mod schedule;

/// What every client command needs.
pub struct Ctx {
    pub out: Output,
    /// The client every call of this run goes through (sessions are added per call site,
    /// the log position is shared).
    base: std::sync::OnceLock<Client>,
    start_position: u64,
    pub store: Store,
    pub profile: String,
    pub url: String,
    /// `--tz` when given: overrides a resource's own zone too.
    pub tz_flag: Option<Tz>,
    pub now: DateTime<Utc>,
}

pub async fn run(global: &GlobalArgs, command: Command) -> Result<(), Failure> {
    let ctx = Ctx::new(global)?;
    let result = dispatch(&ctx, command).await;
    if let Some(client) = ctx.base.get() {
        if client.log_position() > ctx.start_position {
            ctx.store.save_position(&ctx.url, client.log_position())?;
        }
    }
    result
}

async fn dispatch(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Setup(args) => account::setup(ctx, args).await,
        Command::Login(args) => account::login(ctx, args).await,
        Command::Logout => account::logout(ctx).await,
        Command::Whoami => account::whoami(ctx).await,
        Command::Register(args) => account::register(ctx, args).await,
        Command::Auth(AuthCommand::Login(args)) => account::login(ctx, args).await,
        Command::Auth(AuthCommand::Logout) => account::logout(ctx).await,
        Command::Auth(AuthCommand::Register(args)) => account::register(ctx, args).await,
        Command::Password(command) => account::password(ctx, command).await,
        Command::Mfa(command) => account::mfa(ctx, command).await,
        Command::Sessions(command) => account::sessions(ctx, command).await,
        Command::Resources(command) => catalog::run(ctx, command).await,
        Command::Hours(command) => schedule::hours(ctx, command).await,
        Command::Blackouts(command) => schedule::blackouts(ctx, command).await,
        Command::Groups(command) => schedule::groups(ctx, command).await,
        Command::Find(args) => booking::find(ctx, args).await,
        Command::Availability(args) => booking::availability(ctx, args).await,
        Command::Book(args) => booking::book(ctx, args).await,
        Command::Reservations(command) => reservations::run(ctx, command).await,
        Command::CheckIn(arg) => reservations::check_in(ctx, arg.id).await,
        Command::Waitlist(command) => reservations::waitlist(ctx, command).await,
        Command::Approvals(command) => reservations::approvals(ctx, command).await,
        Command::Webhooks(command) => integrations::webhooks(ctx, command).await,
        Command::Audit(command) => integrations::audit(ctx, command).await,
        Command::Analytics(command) => integrations::analytics(ctx, command).await,
        Command::Events(super::args::EventsCommand::Tail(args)) => events::tail(ctx, args).await,
        Command::Oauth(command) => admin::oauth(ctx, command).await,
        Command::Roles(command) => admin::roles(ctx, command).await,
        Command::Users(command) => admin::users(ctx, command).await,
        Command::Quotas(command) => admin::quotas(ctx, command).await,
        Command::Profile(command) => meta::profile(ctx, command),
        Command::Status => meta::status(ctx).await,
        Command::Serve(_)
        | Command::Migrate(_)
        | Command::Events(_)
        | Command::Projections(_)
        | Command::Bench(_)
        | Command::Completions(_)
        | Command::Man(_) => Err(Failure::Other("not a client command".into())),
    }
}

impl Ctx {
    fn new(global: &GlobalArgs) -> Result<Ctx, Failure> {
        let store = Store::locate()?;
        let config = store.config()?;
        let profile = global.profile.clone().or(config.current.clone()).unwrap_or_else(|| DEFAULT_PROFILE.into());
        let stored = config.profiles.get(&profile).cloned().unwrap_or_default();
        // --url / RESERVER_URL, then the old client's API_URL, then the profile.
        let url = global
            .url
            .clone()
            .or_else(|| std::env::var("API_URL").ok().filter(|u| !u.is_empty()))
            .or(stored.url.clone())
            .unwrap_or_else(|| DEFAULT_URL.into());
        let tz_flag = match &global.tz {
            Some(name) => Some(when::zone(Some(name), None).map_err(Failure::Usage)?),
            None => None,
        };
        let zone = when::zone(global.tz.as_deref(), stored.time_zone.as_deref()).map_err(Failure::Usage)?;
        let url = url.trim_end_matches('/');
        let url = url.strip_suffix("/api/v1").unwrap_or(url).to_string();
        Ok(Ctx {
            out: Output::new(global.output, global.no_color, zone),
            base: std::sync::OnceLock::new(),
            start_position: store.position(&url),
            store,
            profile,
            url,
            tz_flag,
            now: Utc::now(),
        })
    }

    /// A client without a session (login, registration, health).
    pub fn anonymous(&self) -> Result<Client, Failure> {
        if let Some(client) = self.base.get() {
            return Ok(client.clone());
        }
        let client = Client::new(&self.url)?.with_min_position(self.start_position);
        Ok(self.base.get_or_init(|| client).clone())
    }

    /// A client with the profile's session (refreshed and re-stored as needed), or
    /// `RESERVER_TOKEN` when set.
    pub fn client(&self) -> Result<Client, Failure> {
        let client = self.anonymous()?;
        if let Some(token) = std::env::var("RESERVER_TOKEN").ok().filter(|t| !t.is_empty()) {
            return Ok(client.with_session(Session::bearer(token)));
        }
        let stored =
            self.store.credentials()?.remove(&self.profile).filter(|s| s.url.trim_end_matches('/') == self.url);
        let Some(stored) = stored else {
            return Err(Failure::Auth(format!(
                "not logged in to {}{}; run `reserver login`",
                self.url,
                if self.profile == DEFAULT_PROFILE { String::new() } else { format!(" (profile {})", self.profile) }
            )));
        };
        let sessions = ProfileSessions {
            store: self.store.clone(),
            profile: self.profile.clone(),
            url: self.url.clone(),
            username: stored.username.clone(),
        };
        Ok(client.with_session(stored.session).with_store(std::sync::Arc::new(sessions)))
    }

    /// A time typed by a person, read in `zone`.
    pub fn instant_in(&self, text: &str, zone: Tz) -> Result<DateTime<Utc>, Failure> {
        when::instant(text, zone, self.now).map_err(Failure::Usage)
    }

    /// The zone for times concerning one resource: `--tz`, else the resource's own.
    pub fn zone_of(&self, resource: &Resource) -> Tz {
        self.tz_flag.unwrap_or_else(|| resource.time_zone.parse().unwrap_or(self.out.zone))
    }

    /// A resource by id or by exact (case-insensitive) name.
    pub async fn resource(&self, client: &Client, name_or_id: &str) -> Result<Resource, Failure> {
        if let Ok(id) = name_or_id.trim().parse::<Uuid>() {
            return Ok(client.resource(id).await?.0);
        }
        let filter = ResourceFilter {
            q: Some(name_or_id.to_string()),
            page: PageRequest { limit: Some(500), cursor: None },
            ..ResourceFilter::default()
        };
        let mut matches: Vec<Resource> = client
            .resources(&filter)
            .await?
            .data
            .into_iter()
            .filter(|r| r.name.eq_ignore_ascii_case(name_or_id.trim()))
            .collect();
        match matches.len() {
            1 => Ok(matches.remove(0)),
            0 => Err(Failure::NotFound(format!(
                "no resource named {name_or_id:?}; `reserver resources list` shows them"
            ))),
            n => Err(Failure::Usage(format!("{n} resources are named {name_or_id:?}; give the id instead"))),
        }
    }

    /// An account's id by id or username (admins).
    pub async fn user_id(&self, client: &Client, name_or_id: &str) -> Result<Uuid, Failure> {
        if let Ok(id) = name_or_id.trim().parse::<Uuid>() {
            return Ok(id);
        }
        client
            .users()
            .await?
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(name_or_id.trim()))
            .map(|u| u.user_id)
            .ok_or_else(|| Failure::NotFound(format!("no account named {name_or_id:?}")))
    }

    /// One page, or with `--all` every page; a hint on stderr when more remain.
    pub async fn pages<T, F, Fut>(&self, args: &PageArgs, mut fetch: F) -> Result<Vec<T>, Failure>
    where
        F: FnMut(PageRequest) -> Fut,
        Fut: Future<Output = Result<Page<T>, reserver_client::Error>>,
    {
        let mut request = PageRequest { limit: Some(args.limit.clamp(1, 500)), cursor: args.cursor.clone() };
        let mut items = Vec::new();
        let progress = args.all.then(|| super::terminal::progress(None, "fetching"));
        loop {
            let page = fetch(request.clone()).await?;
            items.extend(page.data);
            if let Some(bar) = &progress {
                bar.set_message(format!("fetched {}", items.len()));
                bar.tick();
            }
            match (page.has_more, page.next_cursor) {
                (true, Some(cursor)) if args.all => request.cursor = Some(cursor),
                (true, Some(cursor)) => {
                    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        self.out.note(&format!("more: --cursor {cursor} (or --all)"));
                    }
                    break;
                }
                _ => break,
            }
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        Ok(items)
    }
}

nav-sessions = Your sessions
sessions-title = Your sessions
sessions-intro = Everywhere you are logged in. End any session you do not recognise; it stops working at once.
sessions-client = Browser or app
sessions-address = Address
sessions-started = Logged in
sessions-last-used = Last refreshed
sessions-actions = Actions
sessions-this-one = This session
sessions-end = End session
sessions-end-others = End all other sessions
sessions-unknown-client = Unknown client
sessions-ended = { $count ->
    [one] One session ended.
   *[other] { $count } sessions ended.
}
password-end-other-sessions = Also log out everywhere else

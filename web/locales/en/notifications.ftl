# The notifications center.
notifications-title = Notifications
notifications-unread-count = { $count ->
    [0] Nothing unread
    [one] 1 unread
   *[other] { $count } unread
}
notifications-mark-all = Mark all as read
notifications-mark-read = Mark as read
notifications-unread-badge = Unread
notifications-empty = No notifications yet.
notifications-received = Received { $time }
notifications-pages = Pages of notifications
notifications-newest = Newest
notifications-older = Older
notification-kind-reservation-confirmed = Reservation confirmed
notification-kind-series-booked = Recurring booking made
notification-kind-reservation-cancelled = Reservation cancelled
notification-kind-reservation-approved = Reservation approved
notification-kind-reservation-rejected = Reservation rejected
notification-kind-approval-expired = No approver answered in time
notification-kind-approval-needed = A reservation awaits your approval
notification-kind-waitlist-offer = A slot you waited for is held for you
notification-kind-no-show-released = Released: nobody checked in
notification-kind-webhook-disabled = A webhook was disabled
notification-kind-reminder = Reminder of an upcoming reservation

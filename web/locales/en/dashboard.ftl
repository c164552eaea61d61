# The dashboard (its first messages are in main.ftl).
dashboard-available-now = Available now
dashboard-next = Your next booking
dashboard-is-checked-in = Checked in
dashboard-check-in = Check in now
dashboard-check-in-until = Check-in open until { $time }
dashboard-checked-in = You are checked in. Enjoy!

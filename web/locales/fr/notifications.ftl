# Le centre de notifications.
notifications-title = Notifications
notifications-unread-count = { $count ->
    [0] Rien de non lu
    [one] 1 non lue
   *[other] { $count } non lues
}
notifications-mark-all = Tout marquer comme lu
notifications-mark-read = Marquer comme lue
notifications-unread-badge = Non lue
notifications-empty = Aucune notification pour l'instant.
notifications-received = Reçue { $time }
notifications-pages = Pages de notifications
notifications-newest = Plus récentes
notifications-older = Plus anciennes
notification-kind-reservation-confirmed = Réservation confirmée
notification-kind-series-booked = Réservation récurrente effectuée
notification-kind-reservation-cancelled = Réservation annulée
notification-kind-reservation-approved = Réservation approuvée
notification-kind-reservation-rejected = Réservation refusée
notification-kind-approval-expired = Aucun approbateur n'a répondu à temps
notification-kind-approval-needed = Une réservation attend votre approbation
notification-kind-waitlist-offer = Un créneau que vous attendiez vous est réservé
notification-kind-no-show-released = Libérée : personne ne s'est présenté
notification-kind-webhook-disabled = Un webhook a été désactivé
notification-kind-reminder = Rappel d'une réservation à venir

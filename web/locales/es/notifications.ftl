# El centro de notificaciones.
notifications-title = Notificaciones
notifications-unread-count = { $count ->
    [0] Nada sin leer
    [one] 1 sin leer
   *[other] { $count } sin leer
}
notifications-mark-all = Marcar todas como leídas
notifications-mark-read = Marcar como leída
notifications-unread-badge = Sin leer
notifications-empty = Todavía no hay notificaciones.
notifications-received = Recibida { $time }
notifications-pages = Páginas de notificaciones
notifications-newest = Más recientes
notifications-older = Anteriores
notification-kind-reservation-confirmed = Reserva confirmada
notification-kind-series-booked = Reserva periódica hecha
notification-kind-reservation-cancelled = Reserva cancelada
notification-kind-reservation-approved = Reserva aprobada
notification-kind-reservation-rejected = Reserva rechazada
notification-kind-approval-expired = Nadie aprobó a tiempo
notification-kind-approval-needed = Una reserva espera tu aprobación
notification-kind-waitlist-offer = Te reservamos un hueco que esperabas
notification-kind-no-show-released = Liberada: nadie registró la llegada
notification-kind-webhook-disabled = Se desactivó un webhook
notification-kind-reminder = Recordatorio de una reserva próxima

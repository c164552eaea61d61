# El panel (sus primeros mensajes están en main.ftl).
dashboard-available-now = Disponibles ahora
dashboard-next = Tu próxima reserva
dashboard-is-checked-in = Llegada registrada
dashboard-check-in = Registrar llegada
dashboard-check-in-until = Registro de llegada abierto hasta las { $time }
dashboard-checked-in = Tu llegada está registrada. ¡Que lo disfrutes!

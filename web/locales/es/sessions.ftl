nav-sessions = Tus sesiones
sessions-title = Tus sesiones
sessions-intro = Todos los sitios donde has iniciado sesión. Cierra cualquier sesión que no reconozcas; deja de funcionar al instante.
sessions-client = Navegador o aplicación
sessions-address = Dirección
sessions-started = Inicio de sesión
sessions-last-used = Última renovación
sessions-actions = Acciones
sessions-this-one = Esta sesión
sessions-end = Cerrar sesión
sessions-end-others = Cerrar todas las demás sesiones
sessions-unknown-client = Cliente desconocido
sessions-ended = { $count ->
    [one] Se cerró una sesión.
   *[other] Se cerraron { $count } sesiones.
}
password-end-other-sessions = Cerrar también la sesión en los demás sitios

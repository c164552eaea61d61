nav-sessions = Vos sessions
sessions-title = Vos sessions
sessions-intro = Partout où vous êtes connecté. Fermez toute session que vous ne reconnaissez pas ; elle cesse de fonctionner aussitôt.
sessions-client = Navigateur ou application
sessions-address = Adresse
sessions-started = Connexion
sessions-last-used = Dernier renouvellement
sessions-actions = Actions
sessions-this-one = Cette session
sessions-end = Fermer la session
sessions-end-others = Fermer toutes les autres sessions
sessions-unknown-client = Client inconnu
sessions-ended = { $count ->
    [one] Une session a été fermée.
   *[other] { $count } sessions ont été fermées.
}
password-end-other-sessions = Me déconnecter aussi partout ailleurs

# Le tableau de bord (ses premiers messages sont dans main.ftl).
dashboard-available-now = Disponibles maintenant
dashboard-next = Votre prochaine réservation
dashboard-is-checked-in = Présence confirmée
dashboard-check-in = Confirmer ma présence
dashboard-check-in-until = Confirmation possible jusqu'à { $time }
dashboard-checked-in = Votre présence est confirmée. Bonne séance !

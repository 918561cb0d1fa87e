# Activity: the shopper's payments, with the money split between points and card.
activity-title = Activity
activity-lead = Every payment you made with Saifu, at every shop.
activity-dispute-hint = Something wrong with a payment? Choose “Report a problem” on it.
activity-your-disputes = Your disputes
activity-receipt-hint = Each payment has a receipt signed by Saifu.
activity-check-receipt = Check a receipt
activity-none = No payments yet.
activity-payments = Payments
activity-total = Total
activity-points-used = Points ({ $count })
activity-card-paid = Card { $card }
activity-order = Order { $order }
activity-points-earned = { $count ->
    [one] Earned 1 point.
   *[other] Earned { $count } points.
}
activity-points-redeemed = { $count ->
    [one] Used 1 point.
   *[other] Used { $count } points.
}
activity-points-unreversed = { $count ->
    [one] The refund could not take back 1 earned point: you had already spent it. You keep it.
   *[other] The refund could not take back { $count } earned points: you had already spent them. You keep them.
}
activity-refunded-on = { $amount } refunded on { $when }
activity-dispute = Dispute: { $status }
activity-download-receipt = Download receipt
activity-download-receipt-label = Download receipt: { $merchant } { $amount }, order { $order }
activity-report = Report a problem
activity-report-label = Report a problem with { $merchant } { $amount }, order { $order }
activity-status-paid = Paid
activity-status-refunded = Refunded
activity-status-partly-refunded = Partly refunded
activity-status-authorized = Authorized
activity-status-cancelled = Cancelled
activity-status-pending = Pending
activity-status-declined = Declined: { $reason }
activity-decline-other = the card issuer refused the payment.
activity-decline-declined = the card issuer refused the payment.
activity-decline-generic_decline = the card issuer refused the payment.
activity-decline-insufficient_funds = there was not enough money on the card.
activity-decline-lost_card = the card was reported lost.
activity-decline-stolen_card = the card was reported stolen.
activity-decline-expired_card = the card has expired.
activity-decline-incorrect_cvc = the security code did not match.
activity-decline-processing_error = the card could not be checked. Please try again later.
activity-decline-fraudulent = the card issuer refused the payment as suspicious.
activity-decline-authorization_expired = the approval lapsed before the shop took the payment.

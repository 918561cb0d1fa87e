consent-declined-title = Your card was declined
consent-declined-card = { $card } was declined: { $reason }
consent-declined-reason = Your card was declined: { $reason }
consent-declined-next = Nothing was charged. Choose another card, or add one, and pay again.
consent-network-title = The card network did not answer
consent-network-reason = Your card could not be checked just now.
consent-network-next = Nothing was charged. Please pay again in a moment, or choose another card.

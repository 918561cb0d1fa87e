# The shopper's disputes.
disputes-title = Your disputes
disputes-lead = Problems you reported with a payment, and where each one stands. To report a new one, choose “Report a problem” on the payment in
disputes-lead-activity = Activity
disputes-none = You haven't reported a problem with any payment.
disputes-list = Disputes

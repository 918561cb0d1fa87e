# The wallet's home: the welcome for visitors and the signed-in shopper's dashboard.
home-title = Your wallet
home-welcome = Welcome, { $name }
home-signed-in-as = Signed in as { $email }.
home-second-passkey = Add a second passkey
home-second-passkey-why = You have only one passkey. If you lose that device, you lose access to your wallet. Add a passkey on another phone, computer or security key.
home-first-card = Add your first card
home-first-card-why = Add a card once, then pay at any shop that accepts Saifu with a single touch. Shops never see its number.
home-first-card-add = Add a card
home-points = Points
home-points-available = Available to spend at any shop.
home-points-expiring = { $count ->
    [one] 1 point expires within 30 days.
   *[other] { $count } points expire within 30 days.
}
home-points-none-expiring = No points expire within 30 days.
home-cards = Cards
home-cards-none = No cards yet.
home-activity = Recent activity
home-activity-none = No payments yet.
home-passkey-count = { $count ->
    [one] 1 passkey
   *[other] { $count } passkeys
}
home-passkeys-why = The passkeys you use to sign in and to confirm payments.
home-zone = Time zone
home-zone-why = Times in your wallet are shown in this time zone.
home-zone-label = Show times in
home-zone-save = Save time zone
home-hero = Pay any shop with a passkey
home-hero-lead = Saifu is your personal commerce wallet. Confirm each payment with a single touch of your fingerprint, face or security key.
home-hero-card = The shop never sees your card.
home-hero-card-why = Your card number stays with Saifu; the shop only gets a confirmed payment.
home-hero-passwords = No passwords, no SMS codes.
home-hero-passwords-why = You sign in with a passkey that never leaves your device.
home-hero-points = Your points follow you.
home-hero-points-why = Earn and spend them in your wallet, at any shop that accepts Saifu.
home-points-history = See your points history
home-cards-manage = Manage your cards
home-activity-all = See all activity

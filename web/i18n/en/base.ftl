# The layout every wallet page shares: header, navigation, footer and the language switcher.
page-title = { $title } · Saifu
skip-to-content = Skip to main content
nav-main = Main
nav-home = Home
nav-cards = Cards
nav-addresses = Addresses
nav-activity = Activity
nav-points = Points
nav-shops = Shops
nav-passkeys = Passkeys
nav-sign-out = Sign out
nav-sign-in = Sign in
nav-create-account = Create account
footer-tagline = Saifu: pay with a passkey. Your card stays with your wallet.
language-label = Language
language-switch = Change language

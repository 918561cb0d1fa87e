# Account recovery as the wallet's home, Activity and the recovery codes page show it.
recovery-codes-title = Recovery codes
recovery-save-codes = Save your recovery codes
recovery-save-codes-why = Write these down or save them somewhere safe, away from your phone. They are shown only now. Each one signs you in once if you lose your passkeys.
recovery-lost-codes = Lost them? Make new ones on this page; the old ones then stop working:
recovery-security = Account security
recovery-security-none = Nothing yet.
recovery-cancelled = A recovery of your account was cancelled
recovery-cancelled-why = Saifu support had started a recovery of your account. You signed in with your passkey on { $when }, so it was cancelled and its link no longer works.
recovery-cancelled-warning = If you did not ask for it, someone may be trying to take over your wallet. Keep your passkeys and recovery codes to yourself.
recovery-got-it = Got it
recovery-make = Make recovery codes
recovery-make-why = If you lose every passkey, a recovery code lets you back into your wallet.
recovery-event-codes-created = You made recovery codes.
recovery-event-codes-replaced = You made new recovery codes; the old ones stopped working.
recovery-event-code-used = You signed in with a recovery code; you were signed out everywhere else.
recovery-event-started = Saifu support started a recovery of your account.
recovery-event-cancelled-by-support = Saifu support cancelled a recovery of your account; its link no longer works.
recovery-event-cancelled = A recovery of your account was cancelled because you signed in with your passkey.
recovery-event-completed = You signed in with a recovery link; you were signed out everywhere else.
recovery-event-other = Your account's security settings changed.
recovery-codes-lead = If you lose every passkey, a recovery code lets you back into your wallet to make a new one. Each code works once.
recovery-codes-left = { $count ->
    [one] You have 1 unused code left.
   *[other] You have { $count } unused codes left.
}
recovery-codes-none = You have no recovery codes yet.
recovery-codes-replace-hint = Your old codes stop working as soon as you make new ones.
recovery-codes-replace = Make new recovery codes
recovery-codes-done = Done
# The signed-out recovery pages: a recovery code, a support link, then a new passkey.
recovery-lost-title = Lost your passkey?
recovery-lost-lead = Sign in with one of the recovery codes you saved when you created your wallet. Each code works once. Then you make a new passkey on this device.
recovery-email = Email
recovery-code = Recovery code
recovery-code-hint = Ten letters and digits, like abcde-23456. Capitals, spaces and dashes do not matter.
recovery-code-sign-in = Sign in with the code
recovery-no-codes = No codes left? Contact Saifu support: they can send you a recovery link. For your safety it works only after a waiting period, and signing in with a passkey meanwhile cancels it.
recovery-back-to-sign-in = Back to sign in
recovery-link-title = Recover your account
recovery-link-waiting = Saifu support started a recovery of your account. For your safety this link works only from { $when }. Come back then.
recovery-link-not-you = Did you not ask for this? Sign in with your passkey: that cancels the recovery.
recovery-link-ready = This link signs you in once, until { $until }. Every other place you are signed in is signed out. Then you make a new passkey on this device.
recovery-link-continue = Continue
recovery-sign-in-passkey = Sign in with a passkey
recovery-use-code = Use a recovery code
recovery-passkey-title = Make a new passkey
recovery-passkey-lead = You are signed in to recover your account, and signed out everywhere else. Make a new passkey now: until you do, you can't use your wallet or pay.
recovery-passkey-needs-js = Creating a passkey needs JavaScript. Please turn it on for this site.
recovery-passkey-create = Create a new passkey
recovery-passkey-after = After that, remove the passkey you lost on the Passkeys page.
error-invalid_recovery_code = This email address and recovery code do not match, or the code was already used.
error-recovery_link_invalid = This recovery link no longer works: it was used, cancelled, replaced by a newer one, or it expired.
error-recovery_not_ready = This recovery link does not work yet: for your safety it works only after a waiting period.

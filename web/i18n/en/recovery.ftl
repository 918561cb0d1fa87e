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

# Checking a receipt.
receipts-title = Check a receipt
receipts-lead = Saifu signs a receipt each time you approve a payment. Paste one here, or choose a receipt file, to see what it says and whether Saifu really signed it.
receipts-file = Receipt file (optional)
receipts-file-hint = Choosing a file puts its text in the box below.
receipts-receipt = Receipt
receipts-check = Check the receipt
receipts-valid = This receipt is genuine
receipts-valid-why = Saifu signed it, and nothing in it has changed since.
receipts-forged = This receipt is not genuine
receipts-forged-why = Its signature does not match what it says: it was changed after Saifu signed it, or it was never signed by Saifu. Do not trust what it says.
receipts-unknown-key = This receipt cannot be checked here
receipts-unknown-key-why = It was signed with a key that this wallet does not (or no longer) publish. It may come from another wallet, or its key may have been retired. Do not trust what it says.
receipts-not-receipt = This is not a receipt
receipts-not-receipt-why = What you pasted is not a Saifu receipt. Check that you pasted the whole receipt, or choose the receipt file you downloaded from Activity.

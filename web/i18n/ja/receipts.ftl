# レシートの確認。
receipts-title = レシートを確認
receipts-lead = Saifu はお支払いを承認するたびにレシートに署名します。レシートを貼り付けるかファイルを選ぶと、その内容と、本当に Saifu が署名したものかどうかを確認できます。
receipts-file = レシートファイル（任意）
receipts-file-hint = ファイルを選ぶと、その内容が下の欄に入力されます。
receipts-receipt = レシート
receipts-check = レシートを確認
receipts-valid = このレシートは本物です
receipts-valid-why = Saifu が署名したもので、署名後に内容は変更されていません。
receipts-forged = このレシートは本物ではありません
receipts-forged-why = 署名と内容が一致しません。Saifu の署名後に変更されたか、Saifu が署名したものではありません。記載内容を信用しないでください。
receipts-unknown-key = このレシートはここでは確認できません
receipts-unknown-key-why = このウォレットが公開していない（または公開を終了した）鍵で署名されています。別のウォレットのレシートか、鍵が廃止された可能性があります。記載内容を信用しないでください。
receipts-not-receipt = レシートではありません
receipts-not-receipt-why = 貼り付けられた内容は Saifu のレシートではありません。レシート全体を貼り付けたかご確認いただくか、利用履歴からダウンロードしたレシートファイルを選んでください。

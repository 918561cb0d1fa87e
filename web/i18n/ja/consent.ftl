consent-declined-title = カードが承認されませんでした
consent-declined-card = { $card } は承認されませんでした：{ $reason }
consent-declined-reason = カードが承認されませんでした：{ $reason }
consent-declined-next = 請求はされていません。別のカードを選ぶか、カードを追加して、もう一度お支払いください。
consent-network-title = カードネットワークから応答がありませんでした
consent-network-reason = 現在、カードを確認できませんでした。
consent-network-next = 請求はされていません。しばらくしてからもう一度お支払いいただくか、別のカードをお選びください。

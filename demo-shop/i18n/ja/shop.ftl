# Saifu デモショップの画面。id はすべて `shop-`(商品は `product-`)で始まる。

## 全ページ共通: ヘッダー、ナビゲーション、フッター、言語の切り替え。
shop-name = Saifu デモショップ
shop-nav = ショップ
shop-nav-orders = 注文履歴
shop-nav-cart = カート
shop-cart-items = { $count ->
   *[other] 点
}
shop-footer = Saifu のデモ用ショップです。ウォレットのカード決済は模擬のため、実際のお金は動きません。
shop-language = 言語
shop-points = { $count ->
   *[other] { $count }ポイント
}

## 商品。
product-mug-name = 陶器のマグカップ
product-mug-description = 益子で手びねりし、白い灰釉をかけました。300 ml。
product-tote-name = リネンのトートバッグ
product-tote-description = 厚手の近江リネン、内ポケット付き。1週間分の食料品が入ります。
product-kettle-name = ドリップケトル
product-kettle-description = 細口でゆっくり均一に注げるステンレス製。0.9 L。

## 商品一覧。
shop-home-title = 商品一覧
shop-home-heading = ゆったりした朝のための小さな道具
shop-home-lede = お支払いは Saifu ウォレットで。金額をパスキーで確認するだけで、このショップにカード情報は渡りません。
shop-add-to-cart = カートに入れる
shop-add-to-cart-label = カートに入れる: { $product }

## カートと注文の商品。
shop-cart-title = カート
shop-cart-empty = カートは空です。
shop-browse = 商品を見る
shop-cart-caption = カートの商品
shop-pay-with-saifu = Saifu で支払う（{ $amount }）
shop-pay-hint = Saifu が開き、このお支払いの内容をそのまま表示します。パスキーで確認すると、すぐにこのショップに戻ります。
shop-wallet-label = お使いのウォレット（例：wallet.example.jp）
shop-wallet-hint = どのウォレットをお使いですか？空欄のままにすると、このショップの通常の Saifu ウォレットで支払います。
shop-wallet-refused-title = このウォレットは使えません
shop-wallet-refused = ショップはウォレット「{ $address }」を使えませんでした（{ $reason }）。請求は行われていません。アドレスを確認するか、空欄のままにしてショップの通常のウォレットで支払ってください。
shop-continue = 買い物を続ける
shop-see-orders = 注文履歴を見る
shop-lines-item = 商品
shop-lines-quantity = 数量
shop-lines-price = 金額
shop-lines-remove = 削除
shop-lines-each = 単価 { $price }
shop-lines-total = 合計

## 注文履歴。
shop-orders-title = 注文履歴
shop-orders-none = このショップでの注文はまだありません。
shop-orders-note = このブラウザからの注文です（新しい順）。
shop-orders-link = 注文 { $reference }
shop-orders-card-and-points = （カード { $card } + { $points }）
shop-all-orders = 注文履歴をすべて見る

## 注文の状態。
shop-status-paid = 支払い済み
shop-status-refunded = 返金済み
shop-status-partly-refunded = { $total } のうち { $amount } を返金済み
shop-status-pending = 支払い処理中
shop-status-cancelled = 取り消し済み
shop-status-declined = 決済できませんでした
shop-status-not-paid-yet = 未払い
shop-status-not-paid = 支払われていません
shop-status-unknown = 不明

## 注文の詳細。
shop-order-title = 注文 { $reference }
shop-order-thanks = ご注文ありがとうございます
shop-order-refunded-heading = 返金が完了しました
shop-order-paid-notice = { $amount } のお支払いが完了しました。
shop-order-confirmed = Saifu ウォレットがお支払いを確認しました。
shop-order-awaiting = Saifu ウォレットによるお支払いの確認を待っています。
shop-order-reference = 注文番号
shop-order-placed = 注文日時
shop-order-status = 状態
shop-order-card = お支払い方法
shop-card-ending = { $brand }（末尾 { $last4 }）
shop-order-earned = 獲得ポイント
shop-order-refunded = 返金額
shop-order-caption = 注文の商品
shop-order-payment = お支払いの内訳
shop-order-points-used = ポイント利用（{ $points }）
shop-order-charged = カードへの請求額
shop-refund-link = この注文を返金する（{ $amount }）
shop-unpaid-heading = お支払いが完了していません
shop-unpaid-text = { $problem } 請求はされていません。もう一度お試しください。
shop-try-again = もう一度支払う
shop-back-to-cart = カートに戻る
shop-declined-heading = カードが承認されませんでした
shop-declined-text = { $sentence } 請求はされていません。商品はカートに残っているので、別のカードでお支払いいただけます。
shop-failed-text = { $reason } 請求はされていません。商品はカートに残っているので、カートからもう一度お支払いください。
shop-failed-generic = Saifu がこのお支払いを受け付けませんでした。
shop-problem-pending = お支払いはまだ完了していません。
shop-problem-processing = お支払いを処理しています。
shop-problem-unavailable = Saifu が今はお支払いを完了できませんでした。

## カードが承認されなかった理由。
shop-decline = カードが承認されませんでした: { $why }
shop-decline-insufficient_funds = カードの利用可能額が不足しています。
shop-decline-expired_card = カードの有効期限が切れています。
shop-decline-incorrect_cvc = セキュリティコードが一致しませんでした。
shop-decline-processing_error = カードネットワークで処理中に問題が起きました。
shop-decline-other = カード会社に承認されませんでした。

## 返金: 確認、結果、失敗。
shop-refund-title = 注文 { $reference } を返金しますか?
shop-refund-heading = この注文を返金しますか?
shop-refund-intro = 注文 { $reference } の { $amount } を返金します。
shop-refund-to-card = { $amount } をお使いの{ $card }に返金します。
shop-refund-to-points = { $points }を Saifu ウォレットに戻します。
shop-refund-earned-back = この注文で獲得した{ $points }は Saifu ウォレットから差し引かれます。
shop-refund-final = 返金は取り消せません。
shop-refund-confirm = { $amount } を返金する
shop-refund-keep = 返金しない
shop-refund-done-card-and-points = { $amount } をお使いの{ $card }に返金し、{ $points }を Saifu ウォレットに戻しました。
shop-refund-done-points = { $points }を Saifu ウォレットに戻しました。
shop-refund-done-card = { $amount } をお使いの{ $card }に返金しました。
shop-refund-declined-title = 返金できませんでした
shop-refund-declined-text = 返金は完了しませんでした。{ $sentence }
shop-refund-failed-title = 返金が完了していません
shop-refund-unavailable = Saifu が今は返金を完了できなかったため、返金されていません。もう一度お試しください。
shop-refund-refused = Saifu が返金を受け付けませんでした。
shop-back-to-order = 注文に戻る

## 何が起きたかを伝えるページ。
shop-unknown-product-title = 商品が見つかりません
shop-unknown-product-text = その商品はこのショップでは扱っていません。
shop-see-products = 商品を見る
shop-too-many-title = これ以上はご購入いただけません
shop-too-many-text = 1つの商品は{ $max }点までご購入いただけます。カートにはすでに{ $product }が{ $max }点入っています。
shop-not-found-title = ページが見つかりません
shop-not-found-text = ここには何もありません。注文は、注文したブラウザからのみ表示できます。
shop-go-to-shop = ショップへ
shop-refused-title = リクエストを受け付けませんでした
shop-refused-text = このフォームは別のサイトから送信されたため、ショップは無視しました。{ $url } からショップを開いて、もう一度お試しください。
shop-unreachable-title = Saifu に接続できませんでした
shop-unreachable-text = Saifu ウォレットから応答がなかったため、お支払いを完了できませんでした。請求はされていません。もう一度お試しください。
shop-checkout-failed-title = お支払い手続きが完了していません
shop-checkout-expired = このお支払い手続きは期限切れか、すでに完了しています。請求はされていません。カートからもう一度お支払いください。
shop-checkout-refused = Saifu がお支払い手続きを受け付けませんでした。請求はされていません。カートからもう一度お試しください。
shop-checkout-mismatch = Saifu からのこの応答は、このブラウザのお支払い手続きのものではないため、ショップは無視しました。請求はされていません。カートからもう一度お支払いください。
shop-checkout-generic = お支払いを完了できませんでした。請求はされていません。カートからもう一度お試しください。
shop-checkout-different = Saifu がこの注文とは異なるお支払いを承認したため、ショップは受け取りませんでした。請求はされていません。カートからもう一度お支払いください。
shop-no-checkout-title = 進行中のお支払い手続きはありません
shop-no-checkout-text = このブラウザには Saifu の応答を待っているお支払いがありません。すでに完了したか、別のブラウザで始められた可能性があります。このページによる請求はありません。
shop-cancelled-title = お支払いをキャンセルしました
shop-cancelled-text = Saifu でお支払いをキャンセルしたため、請求はされていません。商品はカートに残っています。
shop-language-title = この言語には対応していません
shop-language-text = このショップは日本語（ja）と英語（en）に対応しています。

## フッターのタイムゾーン選択。
shop-zone = 表示するタイムゾーン
shop-zone-save = タイムゾーンを保存
shop-zone-device = { $zone }（この端末）
shop-zone-title = このタイムゾーンには対応していません
shop-zone-text = Asia/Tokyo や Europe/London のように、タイムゾーンを名前で選んでください。

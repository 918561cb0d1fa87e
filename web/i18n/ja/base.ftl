# すべてのウォレット画面に共通のレイアウト：ヘッダー、ナビゲーション、フッター、言語の切り替え。
page-title = { $title } · Saifu
skip-to-content = メインコンテンツへ移動
nav-main = メイン
nav-home = ホーム
nav-cards = カード
nav-addresses = 住所
nav-activity = 利用履歴
nav-points = ポイント
nav-shops = ショップ
nav-passkeys = パスキー
nav-sign-out = サインアウト
nav-sign-in = サインイン
nav-create-account = アカウント作成
footer-tagline = Saifu：パスキーで支払い。カード情報はウォレットの中に。
language-label = 言語
language-switch = 言語を変更

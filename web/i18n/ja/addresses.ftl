# お届け先住所：一覧と追加・編集フォーム。
addresses-title = 住所
addresses-lead = ご購入品のお届け先です。住所が必要なショップにはお支払い時にお伝えし、その注文のためにお選びいただいた住所だけが渡ります。
addresses-none = まだ住所が登録されていません。
addresses-yours = 登録済みの住所
addresses-default = いつものお届け先
addresses-phone = 電話番号 { $phone }
addresses-edit = 編集
addresses-edit-of = （{ $name } さんの住所）
addresses-make-default = いつものお届け先にする
addresses-remove = 削除
addresses-remove-confirm = この住所をウォレットから削除しますか？お支払い済みの注文の住所はそのまま残ります。
addresses-new-title = 住所を追加
addresses-edit-title = 住所を編集
addresses-add = 住所を追加
addresses-save = 住所を保存
addresses-form-lead = 日本国内で荷物を送るときと同じように住所をご記入ください。
addresses-use-default = この住所をいつものお届け先にする
addresses-choose-prefecture = 都道府県を選択
addresses-japan = 日本
addresses-field-name = 氏名
addresses-field-postal_code = 郵便番号
addresses-field-prefecture = 都道府県
addresses-field-city = 市区町村
addresses-field-line1 = 番地
addresses-field-line2 = 建物名・部屋番号
addresses-field-phone = 電話番号
addresses-field-country = 国
addresses-hint-postal_code = 7桁の数字（例：100-0001）
addresses-hint-line1 = 丁目・番地・号など
addresses-hint-line2 = 建物名・部屋番号（任意）
addresses-hint-phone = 10桁または11桁（例：090-1234-5678）。配送についてショップから連絡が入ることがあります。
addresses-hint-country = 現在、Saifu に登録できるのは日本国内の住所のみです。

## 住所をお受けできない理由（項目ごと。$field はフォームの項目名）。
addresses-refusal-empty = { $field ->
        [name] お受け取りになる方の氏名を入力してください。
        [city] 市区町村を入力してください。
       *[other] 丁目・番地・号を入力してください。
    }
addresses-refusal-hidden = { $field ->
        [name] 氏名
        [city] 市区町村
        [line2] 建物名・部屋番号
       *[other] 番地
    }から見えない文字（{ $char }）を削除してください。
addresses-refusal-too-long = { $field ->
        [name] 氏名
        [city] 市区町村
        [line2] 建物名・部屋番号
       *[other] 番地
    }は{ $max }文字以内で入力してください。
addresses-refusal-postal-code-empty = 郵便番号を入力してください（例：100-0001）。
addresses-refusal-postal-code = 郵便番号は7桁の数字で入力してください（例：100-0001）。
addresses-refusal-prefecture-empty = 都道府県を選択してください。
addresses-refusal-prefecture-unknown = 日本の47都道府県のいずれでもありません。一覧から選択してください。
addresses-refusal-phone-empty = 配送時に連絡のつく電話番号を入力してください（例：090-1234-5678）。
addresses-refusal-phone = 電話番号は10桁または11桁で入力してください（例：090-1234-5678）。日本国外の番号は + から始めてください。
addresses-refusal-country = 現在、Saifu に登録できるのは日本国内の住所のみです。

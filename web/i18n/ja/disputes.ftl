# お支払いについての申し立て。
disputes-title = 申し立て一覧
disputes-lead = お支払いについてご報告いただいた問題と、それぞれの状況です。新たに報告する場合は、次の画面で該当するお支払いの「問題を報告」を選んでください：
disputes-lead-activity = 利用履歴
disputes-none = お支払いについて報告された問題はありません。
disputes-list = 申し立て

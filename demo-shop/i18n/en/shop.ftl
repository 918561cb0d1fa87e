# The Saifu Demo Shop's pages. Every id starts with `shop-` (or `product-` for the catalogue).

## Every page: header, navigation, footer and the language switcher.
shop-name = Saifu Demo Shop
shop-nav = Shop
shop-nav-orders = Orders
shop-nav-cart = Cart
shop-cart-items = { $count ->
    [one] item
   *[other] items
}
shop-footer = A demonstration shop for Saifu. The wallet's card processor is simulated: no real money moves.
shop-language = Language
shop-points = { $count ->
    [one] { $count } point
   *[other] { $count } points
}

## The catalogue.
product-mug-name = Ceramic mug
product-mug-description = Hand-thrown in Mashiko, glazed in ash white. 300 ml.
product-tote-name = Linen tote
product-tote-description = Heavy Ōmi linen with an inside pocket. Carries a week of groceries.
product-kettle-name = Pour-over kettle
product-kettle-description = Stainless steel with a gooseneck spout for a slow, even pour. 0.9 l.

## The products page.
shop-home-title = Products
shop-home-heading = Small things for slow mornings
shop-home-lede = Pay with your Saifu wallet: you confirm the exact amount with a passkey, and this shop never sees your card.
shop-add-to-cart = Add to cart
shop-add-to-cart-label = Add to cart: { $product }

## The cart and the items of an order.
shop-cart-title = Your cart
shop-cart-empty = Your cart is empty.
shop-browse = Browse the products
shop-cart-caption = Items in your cart
shop-pay-with-saifu = Pay with Saifu ({ $amount })
shop-pay-hint = Saifu opens to show you exactly this payment. Confirm it there with your passkey, and you come straight back here.
shop-wallet-label = Your wallet (e.g. wallet.example.jp)
shop-wallet-hint = Which wallet do you use? Leave it empty to pay with the shop's usual Saifu wallet.
shop-wallet-refused-title = That wallet cannot be used
shop-wallet-refused = The shop could not use the wallet “{ $address }”: { $reason }. Nothing was charged. Check the address, or leave it empty to pay with the shop's usual wallet.
shop-continue = Continue shopping
shop-see-orders = See your orders
shop-lines-item = Item
shop-lines-quantity = Quantity
shop-lines-price = Price
shop-lines-remove = Remove
shop-lines-each = { $price } each
shop-lines-total = Total

## The orders page.
shop-orders-title = Your orders
shop-orders-none = You have no orders in this shop yet.
shop-orders-note = The orders placed from this browser, newest first.
shop-orders-link = Order { $reference }
shop-orders-card-and-points = ({ $card } by card + { $points })
shop-all-orders = All your orders

## An order's status.
shop-status-paid = Paid
shop-status-refunded = Refunded
shop-status-partly-refunded = Refunded { $amount } of { $total }
shop-status-pending = Payment pending
shop-status-cancelled = Cancelled
shop-status-declined = Declined
shop-status-not-paid-yet = Not paid yet
shop-status-not-paid = Not paid
shop-status-unknown = Unknown

## The order page.
shop-order-title = Order { $reference }
shop-order-thanks = Thank you for your order
shop-order-refunded-heading = Order refunded
shop-order-paid-notice = Your payment of { $amount } went through.
shop-order-confirmed = Payment confirmed by your Saifu wallet.
shop-order-awaiting = Waiting for your Saifu wallet to confirm the payment.
shop-order-reference = Order
shop-order-placed = Ordered
shop-order-status = Status
shop-order-card = Paid with
shop-card-ending = { $brand } ending in { $last4 }
shop-order-earned = Points earned
shop-order-refunded = Refunded
shop-order-caption = Items in this order
shop-order-payment = How you paid
shop-order-points-used = Points used ({ $points })
shop-order-charged = Charged to your card
shop-refund-link = Refund this order ({ $amount })
shop-unpaid-heading = Payment not completed
shop-unpaid-text = { $problem } Nothing has been charged. Please try again.
shop-try-again = Try the payment again
shop-back-to-cart = Back to your cart
shop-declined-heading = Payment declined
shop-declined-text = { $sentence } Nothing was charged. Your items are still in your cart, so you can pay again with another card.
shop-failed-text = { $reason } Nothing was charged. Your items are still in your cart: please pay again from there.
shop-failed-generic = Saifu did not accept the payment.
shop-problem-pending = Your payment has not gone through yet.
shop-problem-processing = Your payment is still being processed.
shop-problem-unavailable = Saifu could not complete the payment just now.

## Card declines, by decline code.
shop-decline = Your card was declined: { $why }
shop-decline-insufficient_funds = the card does not have enough funds.
shop-decline-expired_card = the card has expired.
shop-decline-incorrect_cvc = the card's security code did not match.
shop-decline-processing_error = the card network had a problem processing it.
shop-decline-other = the card issuer would not approve it.

## The refund: confirmation, outcome and failures.
shop-refund-title = Refund order { $reference }?
shop-refund-heading = Refund this order?
shop-refund-intro = You are about to refund { $amount } for order { $reference }.
shop-refund-to-card = { $amount } goes back to your { $card }.
shop-refund-to-points = { $points } go back to your Saifu wallet.
shop-refund-earned-back = The { $points } this order earned are taken back from your Saifu wallet.
shop-refund-final = A refund cannot be undone.
shop-refund-confirm = Refund { $amount }
shop-refund-keep = Keep the order
shop-refund-done-card-and-points = We refunded { $amount } to your { $card } and returned { $points } to your Saifu wallet.
shop-refund-done-points = We returned { $points } to your Saifu wallet.
shop-refund-done-card = We refunded { $amount } to your { $card }.
shop-refund-declined-title = Refund declined
shop-refund-declined-text = The refund did not go through. { $sentence }
shop-refund-failed-title = Refund not completed
shop-refund-unavailable = Saifu could not complete the refund just now, so nothing was refunded. Please try again.
shop-refund-refused = Saifu refused the refund.
shop-back-to-order = Back to the order

## Pages that say what happened.
shop-unknown-product-title = Unknown product
shop-unknown-product-text = The shop does not sell that product.
shop-see-products = See the products
shop-too-many-title = That is the most we can sell
shop-too-many-text = You can buy at most { $max } of each product, and your cart already has { $max } of the { $product }.
shop-not-found-title = Page not found
shop-not-found-text = There is nothing here. Orders can only be seen from the browser that placed them.
shop-go-to-shop = Go to the shop
shop-refused-title = Request refused
shop-refused-text = This form was sent from another site, so the shop ignored it. Open the shop at { $url } and try again.
shop-unreachable-title = Saifu could not be reached
shop-unreachable-text = The payment could not be completed because the Saifu wallet did not answer. Nothing was charged. Please try again.
shop-checkout-failed-title = Checkout not completed
shop-checkout-expired = This checkout expired or was already completed. Nothing was charged. Please pay again from your cart.
shop-checkout-refused = Saifu did not accept the checkout. Nothing was charged. Please try again from your cart.
shop-checkout-mismatch = This answer from Saifu does not belong to the checkout in this browser, so the shop ignored it. Nothing was charged. Please pay again from your cart.
shop-checkout-generic = The payment could not be completed. Nothing was charged. Please try again from your cart.
shop-checkout-different = Saifu approved a different payment than this order, so the shop did not take it. Nothing was charged. Please pay again from your cart.
shop-no-checkout-title = No checkout in progress
shop-no-checkout-text = This browser has no payment waiting for Saifu's answer: it may have been completed already, or started in another browser. Nothing was charged by this page.
shop-cancelled-title = Payment cancelled
shop-cancelled-text = You cancelled the payment in Saifu, so nothing was charged. Your items are still in your cart.
shop-language-title = Language not available
shop-language-text = The shop speaks Japanese (ja) and English (en).

## The footer's time zone chooser.
shop-zone = Show times in
shop-zone-save = Save time zone
shop-zone-device = { $zone } (this device)
shop-zone-title = Time zone not available
shop-zone-text = Choose a time zone by its name, such as Asia/Tokyo or Europe/London.

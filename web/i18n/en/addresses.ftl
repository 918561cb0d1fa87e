# Shipping addresses: the list and the add/edit form.
addresses-title = Addresses
addresses-lead = Where shops send what you buy. A shop that needs an address asks for it when you pay, and receives only the one you choose, for that order.
addresses-none = You have no addresses yet.
addresses-yours = Your addresses
addresses-default = Default
addresses-phone = Phone { $phone }
addresses-edit = Edit
addresses-edit-of = { " " }the address of { $name }
addresses-make-default = Make it the default
addresses-remove = Remove
addresses-remove-confirm = Remove this address from your wallet? Orders you already paid keep it.
addresses-new-title = Add an address
addresses-edit-title = Edit address
addresses-add = Add address
addresses-save = Save address
addresses-form-lead = Write the address as you would on a parcel in Japan.
addresses-use-default = Use this address by default
addresses-choose-prefecture = Choose a prefecture
addresses-japan = Japan
addresses-field-name = Full name
addresses-field-postal_code = Postal code
addresses-field-prefecture = Prefecture
addresses-field-city = City, ward, town or village
addresses-field-line1 = Address
addresses-field-line2 = Address line 2
addresses-field-phone = Phone
addresses-field-country = Country
addresses-hint-postal_code = 7 digits, like 100-0001.
addresses-hint-line1 = Block, building number and so on.
addresses-hint-line2 = Building name, room number (optional).
addresses-hint-phone = 10 or 11 digits, like 090-1234-5678. The shop may call it about the delivery.
addresses-hint-country = Saifu keeps addresses in Japan only, for now.

## Why an address is refused, field by field ($field is the form field's name).
addresses-refusal-empty = Enter { $field ->
        [name] the name
        [city] the city
       *[other] the address
    }.
addresses-refusal-hidden = Remove the invisible character ({ $char }) from { $field ->
        [name] the name
        [city] the city
        [line2] the second line
       *[other] the address
    }.
addresses-refusal-too-long = Use at most { $max } characters for { $field ->
        [name] the name
        [city] the city
        [line2] the second line
       *[other] the address
    }.
addresses-refusal-postal-code-empty = Enter the postal code, like 100-0001.
addresses-refusal-postal-code = Enter the postal code as 7 digits, like 100-0001.
addresses-refusal-prefecture-empty = Choose a prefecture.
addresses-refusal-prefecture-unknown = This is not one of the 47 prefectures of Japan. Choose one from the list.
addresses-refusal-phone-empty = Enter a phone number the delivery can reach you at, like 090-1234-5678.
addresses-refusal-phone = Enter a phone number of 10 or 11 digits, like 090-1234-5678, or start with + for a number outside Japan.
addresses-refusal-country = Saifu keeps addresses in Japan only, for now.

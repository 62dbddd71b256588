# sdk-js's getToken: a fresh connection token when the page's one expires.
class TokensController < ApplicationController
  def show
    render json: { token: centrifuge.connection_token(current_user&.id, info: token_info) }
  end
end

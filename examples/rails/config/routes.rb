Rails.application.routes.draw do
  root "posts#index"
  resources :posts, only: %i[index show] do
    resources :comments, only: :create
  end
  get "login", to: "sessions#new"
  post "login", to: "sessions#create"
  delete "logout", to: "sessions#destroy"
  get "centrifuge/token", to: "tokens#show", as: :centrifuge_token
  # sdk-js's bundle and the page's script and style shared with examples/django.
  get "static/centrifuge.js", to: "assets#sdk_js", as: :sdk_js
  get "static/shared/:name", to: "assets#shared", as: :shared_asset, constraints: { name: /[a-z]+\.(js|css)/ }
end

class SessionsController < ApplicationController
  def new; end

  def create
    user = User.find_by(name: params[:username].to_s, active: true)
    if user&.authenticate(params[:password].to_s)
      reset_session
      session[:user_id] = user.id
      redirect_to safe_next(params[:next])
    else
      flash.now[:error] = "Wrong name or password."
      render :new, status: :unprocessable_entity
    end
  end

  def destroy
    reset_session
    redirect_to root_path
  end

  private

  # Only paths of this site (no open redirect).
  def safe_next(path)
    path.to_s.match?(%r{\A/(?![/\\])}) ? path : root_path
  end
end

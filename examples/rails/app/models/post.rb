class Post < ApplicationRecord
  belongs_to :user
  has_many :comments, -> { order(:created_at, :id) }, dependent: :destroy
  validates :title, :body, presence: true
end
